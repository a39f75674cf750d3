using MedSeg.Data.Files;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Datasets;

/// <summary>201 of <c>POST /api/datasets</c>: the new dataset, its class map and its first version.</summary>
public sealed record DatasetCreated(Guid Id, int Cases)
{
    /// <summary>The class map, background first (<see cref="DatasetSummary.ClassMap"/>).</summary>
    public IReadOnlyList<ClassEntry> Classes { get; init; } = [];
    public int Version { get; init; } = 1;
}

public static class DatasetsApi
{
    public static IServiceCollection AddDatasetsFeature(this IServiceCollection services)
    {
        services.AddScoped<DatasetService>();
        services.AddScoped<SplitService>();
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
        api.MapGet("/{id:guid}/cases", Cases);
        // A new version: cases added from a zip (the upload's pipeline), or removed by id (their files stay).
        api.MapPost("/{id:guid}/cases", AddCases).DisableAntiforgery().WithUploadLimit(app);
        api.MapPost("/{id:guid}/cases/remove", RemoveCases);
        api.MapGet("/{id:guid}/splits", Splits);
        api.MapPost("/{id:guid}/splits", CreateSplit);
        api.MapGet("/{id:guid}/cases/{caseId:guid}/{rendition}.png", Rendition);
        return app;
    }

    private const string NoFile = "Send a multipart form with a 'file' field holding a .zip with images/ and masks/.";

    /// <summary>Multipart <c>name</c> (optional) and <c>file</c> (the .zip).</summary>
    public static async Task<Results<Created<DatasetCreated>, ProblemHttpResult>> Upload(
        HttpContext http, DatasetService datasets, ArtifactStore store, IOptions<LimitsOptions> limits, QuotaService quotas, CancellationToken ct)
    {
        // Refused from the declared length before a byte is read when it cannot fit the storage quota; checked again
        // after unpacking (DatasetService), when the real size is known.
        if (await quotas.CheckStorageAsync(UserContext.From(http.User), http.Request.ContentLength, ct) is { } overQuota)
        {
            http.Response.Headers.Connection = "close";
            return QuotasApi.StorageProblem(overQuota);
        }
        var (upload, refusal) = await StagedUpload.ReceiveAsync(http.Request, store, limits.Value, NoFile, ct);
        if (upload is null) return refusal!;
        using (upload)
        {
            var file = upload.Files.FirstOrDefault(f => f.Field == "file");
            if (file is null || file.Length == 0)
            {
                return TypedResults.Problem(NoFile, statusCode: 400, title: "No file was uploaded");
            }
            var name = upload.Field("name");
            var datasetName = string.IsNullOrWhiteSpace(name) ? Path.GetFileNameWithoutExtension(file.FileName) : name.Trim();
            var result = await datasets.IngestZipAsync(datasetName, file, upload.Directory, UserContext.From(http.User), ct);
            if (result.OverQuota is { } unpackedOverQuota) return QuotasApi.StorageProblem(unpackedOverQuota);
            if (result.Dataset is null) return UploadRefusal.Problem(result.Problems);
            return TypedResults.Created($"/api/datasets/{result.Dataset.Id}", new DatasetCreated(result.Dataset.Id, result.Dataset.Cases)
            {
                Classes = result.Dataset.ClassMap,
                Version = result.Dataset.Version,
            });
        }
    }

    public static async Task<Ok<IReadOnlyList<DatasetSummary>>> List(HttpContext http, DatasetService datasets, CancellationToken ct) =>
        TypedResults.Ok(await datasets.ListAsync(UserContext.From(http.User), ct));

    public static async Task<Results<Ok<DatasetSummary>, NotFound>> Get(Guid id, HttpContext http, DatasetService datasets, CancellationToken ct) =>
        await datasets.GetAsync(id, UserContext.From(http.User), ct) is { } d ? TypedResults.Ok(d) : TypedResults.NotFound();

    /// <summary>The cases of one version (<c>?version=N</c>; default the latest), by name.</summary>
    public static async Task<Results<Ok<IReadOnlyList<DatasetCaseSummary>>, NotFound, ValidationProblem>> Cases(
        Guid id, HttpContext http, DatasetService datasets, CancellationToken ct, int skip = 0, int take = 100, int? version = null)
    {
        var user = UserContext.From(http.User);
        if (await datasets.GetAsync(id, user, ct) is not { } dataset) return TypedResults.NotFound();
        if (version is { } v && (v < 1 || v > dataset.Version))
        {
            return Invalid("version", $"This dataset has versions 1 … {dataset.Version}; leave it out for the latest.");
        }
        return TypedResults.Ok(await datasets.ListCasesAsync(id, user, Math.Max(0, skip), Math.Clamp(take, 1, 1000), ct, version));
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

    public static async Task<Results<FileContentHttpResult, NotFound>> Rendition(
        Guid id, Guid caseId, string rendition, HttpContext http, DatasetService datasets, CancellationToken ct, int size = 256)
    {
        if (!Enum.TryParse<CaseRendition>(rendition, ignoreCase: true, out var kind)) return TypedResults.NotFound();
        var png = await datasets.RenderCaseAsync(id, caseId, kind, Math.Clamp(size, 0, 4096), UserContext.From(http.User), ct);
        if (png is null) return TypedResults.NotFound();
        http.Response.Headers.CacheControl = "private, max-age=86400";
        return TypedResults.File(png, "image/png");
    }
}
