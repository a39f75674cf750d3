using MedSeg.Data.Files;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Quotas;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Datasets;

/// <summary>201 of <c>POST /api/datasets</c>: the new dataset, its class map and its first version. With <c>admit=valid</c>,
/// <see cref="LeftOut"/> names the files the problems kept out, and <see cref="ReportUrl"/> gives the report as CSV.</summary>
public sealed record DatasetCreated(Guid Id, int Cases)
{
    /// <summary>The class map, background first (<see cref="DatasetSummary.ClassMap"/>).</summary>
    public IReadOnlyList<ClassEntry> Classes { get; init; } = [];
    public int Version { get; init; } = 1;
    public IReadOnlyList<string> LeftOut { get; init; } = [];
    public IReadOnlyList<MedSeg.Engine.Data.DatasetProblem> Problems { get; init; } = [];
    public string? ReportUrl { get; init; }
}

public static class DatasetsApi
{
    public static IServiceCollection AddDatasetsFeature(this IServiceCollection services)
    {
        services.AddScoped<DatasetService>();
        services.AddScoped<DatasetExport>();
        services.AddSingleton<UploadTracker>();
        services.AddSingleton<UploadRunner>();
        services.AddScoped<SplitService>();
        services.AddSingleton<FingerprintService>();
        services.AddHostedService<FingerprintWorker>();
        return services;
    }

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/datasets").WithTags("Datasets");
        // Multipart uploads come from scripts (bearer token) and from the upload page (XHR with the SameSite=Strict cookie).
        // The body is streamed to staging once (StagedUpload), never read as an IFormFile.
        api.MapPost("/", Upload).DisableAntiforgery().WithUploadLimit(app).RequireAuthorization(AccountServiceExtensions.CreatePolicy);
        api.MapGet("/", List);
        api.MapGet("/{id:guid}", Get);
        api.MapPut("/{id:guid}/classes", SetClasses);
        api.MapGet("/{id:guid}/cases", Cases);
        // A new version: cases added from a zip (the upload's pipeline), or removed by id (their files stay).
        api.MapPost("/{id:guid}/cases", AddCases).DisableAntiforgery().WithUploadLimit(app);
        api.MapPost("/{id:guid}/cases/remove", RemoveCases);
        api.MapGet("/{id:guid}/splits", Splits);
        api.MapPost("/{id:guid}/splits", CreateSplit);
        api.MapGet("/{id:guid}/cases/{caseId:guid}/{rendition}.png", Rendition);
        api.MapGet("/{id:guid}/export.zip", Export);
        app.MapUploadsApi();
        return app;
    }

    private const string NoFile = "Send a multipart form with a 'file' field holding a .zip with images/ and masks/.";

    /// <summary>
    /// Multipart <c>name</c> (optional), <c>file</c> (the .zip), and optionally <c>admit</c> (<c>all</c>, the default: any
    /// problem refuses the upload; <c>valid</c>: store the valid cases without the bad ones, and say which were left out),
    /// <c>wait</c> (<c>false</c>: answer 202 with the upload's status URL at once and validate in the background, as happens
    /// anyway above <see cref="LimitsOptions.BackgroundIngestBytes"/>) and <c>review</c> (<c>auto</c>: hold a validated upload
    /// with problems or a label map for its owner to admit or refuse at <c>/api/uploads/{id}</c>; <c>always</c>; implies
    /// wait=false); for NIfTI volumes also <c>axis</c> (auto, axial, coronal, sagittal; default auto) and <c>emptySlices</c>
    /// (keep, drop, every-N; default keep).
    /// </summary>
    public static async Task<Results<Created<DatasetCreated>, Accepted<UploadStatus>, ProblemHttpResult>> Upload(
        HttpContext http, DatasetService datasets, ArtifactStore store, IOptions<LimitsOptions> limits, QuotaService quotas,
        UploadTracker tracker, UploadRunner runner, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        // Refused from the declared length before a byte is read when it cannot fit the storage quota; checked again
        // after unpacking (DatasetService), when the real size is known.
        if (await quotas.CheckStorageAsync(user, http.Request.ContentLength, ct) is { } overQuota)
        {
            http.Response.Headers.Connection = "close";
            return QuotasApi.StorageProblem(overQuota);
        }
        var (upload, refusal) = await StagedUpload.ReceiveAsync(http.Request, store, limits.Value, NoFile, ct);
        if (upload is null) return refusal!;
        var handedOver = false;
        try
        {
            var file = upload.Files.FirstOrDefault(f => f.Field == "file");
            if (file is null || file.Length == 0)
            {
                return TypedResults.Problem(NoFile, statusCode: 400, title: "No file was uploaded");
            }
            var admit = (upload.Field("admit") ?? "all").Trim().ToLowerInvariant();
            var wait = (upload.Field("wait") ?? "true").Trim().ToLowerInvariant();
            var review = (upload.Field("review") ?? "none").Trim().ToLowerInvariant();
            if (admit is not ("all" or "valid"))
                return Field("admit", $"'{upload.Field("admit")}' is not a choice: 'all' refuses the upload at any problem, 'valid' stores the valid cases without the bad ones.");
            if (wait is not ("true" or "false"))
                return Field("wait", $"'{upload.Field("wait")}' is not a choice: 'true' (answer when stored) or 'false' (answer 202 at once and follow /api/uploads/{{id}}).");
            if (review is not ("none" or "auto" or "always"))
                return Field("review", $"'{upload.Field("review")}' is not a choice: 'none', 'auto' (hold an upload with problems or a label map for a decision) or 'always'.");
            var (volumes, badOptions) = VolumeImportOptions.Parse(upload.Field("axis"), upload.Field("emptySlices"));
            if (volumes is null) return UploadRefusal.Problem(badOptions);
            var (classes, badClasses) = ParseClasses(upload.Field("classes"));
            if (badClasses is not null) return UploadRefusal.Problem([new DatasetProblem("classes", badClasses)]);
            var name = upload.Field("name");
            var datasetName = string.IsNullOrWhiteSpace(name) ? Path.GetFileNameWithoutExtension(file.FileName) : name.Trim();
            if (wait == "false" || review != "none" || file.Length > limits.Value.BackgroundIngestBytes)
            {
                var job = runner.Start(upload, file, datasetName, user, admit == "valid", review != "none", review == "always", volumes, classes);
                handedOver = true;
                return TypedResults.Accepted($"/api/uploads/{job.Id}", UploadStatus.Of(job));
            }
            var result = await datasets.IngestZipAsync(datasetName, file, upload.Directory, user, new IngestOptions(AdmitValid: admit == "valid", Volumes: volumes, Classes: classes), ct);
            if (result.OverQuota is { } unpackedOverQuota) return QuotasApi.StorageProblem(unpackedOverQuota);
            // Kept an hour like a background upload's, so the report can be fetched as CSV.
            var record = tracker.Add(new UploadJob(user.UserId, datasetName, file.FileName, file.Length));
            if (result.Dataset is null)
            {
                record.Finish(UploadState.Refused, "The upload was refused; nothing was stored.", result.Problems);
                return UploadRefusal.Problem(result.Problems, reportUrl: UploadsApi.ReportUrl(record.Id));
            }
            record.Finish(UploadState.Stored, $"Stored {result.Dataset.Cases} cases.", result.Problems, result.Dataset.Id, result.Dataset.Cases, result.LeftOut);
            return TypedResults.Created($"/api/datasets/{result.Dataset.Id}", new DatasetCreated(result.Dataset.Id, result.Dataset.Cases)
            {
                Classes = result.Dataset.ClassMap,
                Version = result.Dataset.Version,
                LeftOut = result.LeftOut,
                Problems = result.Problems,
                ReportUrl = result.Problems.Count > 0 ? UploadsApi.ReportUrl(record.Id) : null,
            });
        }
        finally
        {
            if (!handedOver) upload.Dispose();
        }
    }

    /// <summary>"1,2" → {1, 2}; absent → null (all classes); unreadable entries are ignored.</summary>
    private static HashSet<int>? ParseLabels(string? text) =>
        text is null ? null : [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => int.TryParse(t, out var v) ? v : -1).Where(v => v is > 0 and <= 31)];

    /// <summary>A 400 validation problem naming the form field.</summary>
    private static ProblemHttpResult Field(string field, string message) =>
        TypedResults.Problem(new Microsoft.AspNetCore.Mvc.ValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = $"{field}: {message}",
        });

    public static async Task<Ok<IReadOnlyList<DatasetSummary>>> List(HttpContext http, DatasetService datasets, CancellationToken ct) =>
        TypedResults.Ok(await datasets.ListAsync(UserContext.From(http.User), ct));

    /// <summary>The dataset with its <c>fingerprint</c>, computed now (and stored) when the latest version has none yet.</summary>
    public static async Task<Results<Ok<DatasetSummary>, NotFound>> Get(Guid id, HttpContext http, DatasetService datasets, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        if (await datasets.GetAsync(id, user, ct) is not { } d) return TypedResults.NotFound();
        return TypedResults.Ok(d.Fingerprint is null ? d with { Fingerprint = await datasets.FingerprintAsync(id, user, ct) } : d);
    }

    /// <summary>
    /// A page of a version's cases (<c>version</c>; default the latest) (<c>skip</c>, <c>take</c> ≤ 1000), filtered by <c>label</c> (present in the
    /// mask), <c>empty</c> (true/false), <c>group</c> (source volume), <c>search</c> (in the name), a saved split's side
    /// (<c>splitId</c>, <c>fold</c>, <c>side</c>=train|validation|test), sorted by <c>sort</c>=name|foreground|-foreground.
    /// The number of matching cases is in <c>X-Total-Count</c>.
    /// </summary>
    public static async Task<Results<Ok<IReadOnlyList<DatasetCaseSummary>>, NotFound, ProblemHttpResult>> Cases(
        Guid id, HttpContext http, DatasetService datasets, CancellationToken ct, int skip = 0, int take = 100,
        int? label = null, bool? empty = null, string? group = null, string? search = null, string? sort = null,
        Guid? splitId = null, int fold = 0, string? side = null, int? version = null)
    {
        var user = UserContext.From(http.User);
        if (await datasets.GetAsync(id, user, ct) is not { } dataset) return TypedResults.NotFound();
        if (version is { } v && (v < 1 || v > dataset.Version))
            return Field("version", $"This dataset has versions 1 … {dataset.Version}; leave it out for the latest.");
        CaseSort? order = (sort ?? "name").Trim().ToLowerInvariant() switch
        {
            "name" => CaseSort.Name,
            "foreground" => CaseSort.ForegroundAscending,
            "-foreground" => CaseSort.ForegroundDescending,
            _ => null,
        };
        if (order is null) return Field("sort", $"'{sort}' is not a sort: name, foreground or -foreground.");
        SplitSide? splitSide = null;
        if (side is not null)
        {
            if (!Enum.TryParse<SplitSide>(side, ignoreCase: true, out var parsed) || int.TryParse(side, out _))
                return Field("side", $"'{side}' is not a side: train, validation or test.");
            if (splitId is null) return Field("splitId", "side needs the splitId of a saved split of this dataset.");
            splitSide = parsed;
        }
        var query = new CaseQuery(label, empty, group, search, order.Value, splitId, fold, splitSide, version);
        var page = await datasets.QueryCasesAsync(id, user, query, Math.Max(0, skip), Math.Clamp(take, 1, 1000), ct);
        http.Response.Headers["X-Total-Count"] = page.Total.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Ok(page.Cases);
    }

    /// <summary>Multipart <c>file</c> (a .zip laid out like an upload) and <c>note</c> (optional): its cases as a new version.</summary>
    public static async Task<Results<Created<VersionCreated>, NotFound, ProblemHttpResult>> AddCases(
        Guid id, HttpContext http, DatasetService datasets, ArtifactStore store, IOptions<LimitsOptions> limits, QuotaService quotas, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        // Who may, and whether it fits the quota, before a byte of the body is read.
        if (await datasets.GetAsync(id, user, ct) is not { } dataset) return TypedResults.NotFound();
        if (!dataset.CanManage) return ReadOnly("add cases to");
        if (await quotas.CheckStorageAsync(user, http.Request.ContentLength, ct) is { } overQuota)
        {
            http.Response.Headers.Connection = "close";
            return QuotasApi.StorageProblem(overQuota);
        }
        var (upload, refusal) = await StagedUpload.ReceiveAsync(http.Request, store, limits.Value, NoFile, ct);
        if (upload is null) return refusal!;
        using (upload)
        {
            var file = upload.Files.FirstOrDefault(f => f.Field == "file");
            if (file is null || file.Length == 0) return TypedResults.Problem(NoFile, statusCode: 400, title: "No file was uploaded");
            var result = await datasets.AddCasesAsync(id, file, upload.Directory, upload.Field("note"), user, ct);
            return Answer(id, result);
        }
    }

    /// <summary>JSON <c>{caseIds: [...], note?}</c>: the latest version without those cases, as a new version.</summary>
    public static async Task<Results<Created<VersionCreated>, NotFound, ProblemHttpResult>> RemoveCases(
        Guid id, RemoveCasesRequest request, HttpContext http, DatasetService datasets, CancellationToken ct) =>
        Answer(id, await datasets.RemoveCasesAsync(id, request, UserContext.From(http.User), ct));

    /// <summary>The optional multipart field <c>classes</c>: JSON <c>[{value, name, colour}]</c>; checked against the masks'
    /// class count after the scan (<see cref="ClassMap.Check"/>).</summary>
    internal static (IReadOnlyList<ClassEntry>? Classes, string? Problem) ParseClasses(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return (null, null);
        const string Shape = "classes: send a JSON list such as [{\"value\":0,\"name\":\"background\",\"colour\":\"#000000\"},{\"value\":1,\"name\":\"lesion\",\"colour\":\"#ff0000\"}]";
        try
        {
            var entries = System.Text.Json.JsonSerializer.Deserialize<List<ClassEntry>>(json, ClassJson);
            return entries is { Count: > 0 } && entries.All(e => e is not null) ? (entries, null) : (null, Shape + "; it was empty.");
        }
        catch (System.Text.Json.JsonException e)
        {
            return (null, $"{Shape}; it could not be read ({e.Message.Split('.')[0]}).");
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions ClassJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary><c>PUT /api/datasets/{id}/classes</c>: body <c>[{value, name, colour}]</c>, the whole map; answers the stored map.</summary>
    public static async Task<Results<Ok<IReadOnlyList<ClassEntry>>, NotFound, ProblemHttpResult, ValidationProblem>> SetClasses(
        Guid id, List<ClassEntry> classes, HttpContext http, DatasetService datasets, CancellationToken ct)
    {
        var result = await datasets.SetClassesAsync(id, classes, UserContext.From(http.User), ct);
        return result switch
        {
            { Result: ManageResult.NotFound } => TypedResults.NotFound(),
            { Result: ManageResult.Forbidden } => TypedResults.Problem(
                "This dataset is shared with you read-only; only its owner or an admin can change its class map.",
                statusCode: StatusCodes.Status403Forbidden, title: "Read-only"),
            { Problem: { } problem } => TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["classes"] = [problem] }),
            _ => TypedResults.Ok(result.Classes!),
        };
    }


    private static Results<Created<VersionCreated>, NotFound, ProblemHttpResult> Answer(Guid id, VersionResult result)
    {
        if (result.NotFound) return TypedResults.NotFound();
        if (result.Forbidden) return ReadOnly("change the cases of");
        if (result.OverQuota is { } overQuota) return QuotasApi.StorageProblem(overQuota);
        if (result.Version is not { } created) return UploadRefusal.Problem(result.Problems);
        return TypedResults.Created($"/api/datasets/{id}/cases?version={created.Version}", created);
    }

    public static async Task<Results<Ok<IReadOnlyList<SavedSplitSummary>>, NotFound>> Splits(Guid id, HttpContext http, SplitService splits, CancellationToken ct) =>
        await splits.ListAsync(id, UserContext.From(http.User), ct) is { } list ? TypedResults.Ok(list) : TypedResults.NotFound();

    /// <summary>JSON <see cref="SplitRequest"/>: a saved split of a version; field errors name the field (a leak names the group).</summary>
    public static async Task<Results<Created<SavedSplitSummary>, NotFound, ProblemHttpResult, ValidationProblem>> CreateSplit(
        Guid id, SplitRequest request, HttpContext http, SplitService splits, CancellationToken ct)
    {
        var result = await splits.CreateAsync(id, request, UserContext.From(http.User), ct);
        if (result.NotFound) return TypedResults.NotFound();
        if (result.Forbidden) return ReadOnly("create splits of");
        if (result.Split is not { } split)
        {
            return TypedResults.ValidationProblem(result.Errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
                title: "The split was refused; nothing was stored.");
        }
        return TypedResults.Created($"/api/datasets/{id}/splits", split);
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    /// <summary>The refusal of an owner-only change to a dataset shared with the user read-only.</summary>
    private static ProblemHttpResult ReadOnly(string action) => TypedResults.Problem(
        $"This dataset is shared with you read-only; only its owner or an admin can {action} it.",
        statusCode: StatusCodes.Status403Forbidden, title: "Read-only");

    /// <summary>The dataset in the nnU-Net v2 layout, streamed (<see cref="DatasetExport"/>); whoever may read the dataset may export it.</summary>
    public static async Task<Results<PushStreamHttpResult, NotFound>> Export(Guid id, HttpContext http, DatasetExport export, CancellationToken ct)
    {
        if (await export.PlanAsync(id, UserContext.From(http.User), ct) is not { } plan) return TypedResults.NotFound();
        return TypedResults.Stream(body => DatasetExport.WriteAsync(plan, body, http.RequestAborted), "application/zip", plan.FileName);
    }

    public static async Task<Results<FileContentHttpResult, NotFound>> Rendition(
        Guid id, Guid caseId, string rendition, HttpContext http, DatasetService datasets, CancellationToken ct, int size = 256)
    {
        if (!Enum.TryParse<CaseRendition>(rendition, ignoreCase: true, out var kind) || int.TryParse(rendition, out _)) return TypedResults.NotFound();
        var png = kind == CaseRendition.Labels
            ? await datasets.RenderLabelsAsync(id, caseId, Math.Clamp(size, 0, 4096), ParseLabels(http.Request.Query["classes"]),
                string.Equals(http.Request.Query["style"], "contour", StringComparison.OrdinalIgnoreCase), UserContext.From(http.User), ct)
            : await datasets.RenderCaseAsync(id, caseId, kind, Math.Clamp(size, 0, 4096), UserContext.From(http.User), ct);
        if (png is null) return TypedResults.NotFound();
        http.Response.Headers.CacheControl = "private, max-age=86400";
        return TypedResults.File(png, "image/png");
    }
}
