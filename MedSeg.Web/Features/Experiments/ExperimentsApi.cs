using MedSeg.Web.Features.Experiments.Queue;
using MedSeg.Web.Features.Leaderboards;
using MedSeg.Web.Features.Sharing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Experiments;

public sealed record ExperimentAccepted(Guid Id);
public sealed record ExperimentStatusResponse(ExperimentDetail Experiment);
/// <param name="Request">The launch request the form submits with every suggestion applied and no field changed.</param>
public sealed record SuggestedSettings(Guid DatasetId, string Model, IReadOnlyList<LaunchSuggestion> Suggestions, LaunchRequest Request);

public static class ExperimentsApi
{
    public static IServiceCollection AddExperimentsFeature(this IServiceCollection services)
    {
        services.AddScoped<ExperimentService>();
        services.AddScoped<ExperimentGroupService>();
        services.AddScoped<Compare.CompareService>();
        services.AddScoped<VolumeReviewService>();
        services.AddScoped<ExperimentExportService>();
        services.AddScoped<TrainExperimentJob>();
        services.AddSingleton<IExperimentNotifier, ExperimentNotifier>();
        services.AddSingleton<RunningExperiments>();
        services.AddTransient<ExperimentLiveFeed>();
        services.AddHostedService<ExperimentRecoveryService>();
        services.AddQueueFeature();
        services.AddLeaderboardsFeature();
        return services;
    }

    public static IEndpointRouteBuilder MapExperimentsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/experiments").WithTags("Experiments");
        api.MapPost("/", Launch).RequireAuthorization(Account.AccountServiceExtensions.CreatePolicy);
        api.MapGet("/", List);
        api.MapGet("/suggestions", Suggestions);
        api.MapGet("/{id:guid}", Get);
        api.MapGet("/{id:guid}/cases", Cases);
        api.MapGet("/{id:guid}/cases.csv", CasesCsv)
            .WithSummary("The evaluated cases as CSV (text/csv), worst Dice first, filtered as on the review page: class, emptyTruth, diceBelow")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
        api.MapGet("/{id:guid}/volumes", Volumes);
        api.MapGet("/{id:guid}/" + VolumeReviewService.MasksZip, VolumeMasks);
        api.MapGet("/{id:guid}/" + ExperimentExportService.ExportZip, ExportZip)
            .WithSummary("The run's weights as medseg export writes them (model.dat, model.pt, model.safetensors, model.json), zipped");
        api.MapPost("/{id:guid}/cancel", Cancel);
        api.MapPost("/{id:guid}/resume", Resume);
        api.MapPost("/{id:guid}/clone", Clone).RequireAuthorization(Account.AccountServiceExtensions.CreatePolicy);
        api.MapGet("/{id:guid}/files/{**path}", File);
        api.MapGet("/{id:guid}/log", Log).WithSummary("The last lines of the run's log (text/plain)");
        app.MapGet("/api/datasets/{id:guid}/suggestion", DatasetSuggestion).WithTags("Experiments");
        app.MapModelsApi();
        app.MapExperimentGroupsApi();
        app.MapLeaderboardsApi();
        Compare.CompareApi.MapCompareApi(app);
        return app;
    }

    public static async Task<Results<Accepted<ExperimentAccepted>, ValidationProblem, ProblemHttpResult>> Launch(
        LaunchRequest request, HttpContext http, ExperimentService experiments, CancellationToken ct)
    {
        var result = await experiments.LaunchAsync(request, UserContext.From(http.User), ct);
        if (result.OverQuota is { } overQuota) return Quotas.QuotasApi.JobProblem(overQuota);
        if (result.ExperimentId is not { } id)
        {
            return TypedResults.ValidationProblem(result.Errors
                .GroupBy(e => JsonName(e.Field))
                .ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()));
        }
        return TypedResults.Accepted($"/api/experiments/{id}", new ExperimentAccepted(id));
    }

    /// <summary>Launches a copy of a run with the request that made it (<see cref="LaunchRequest.From"/>), named "… (copy)".</summary>
    public static async Task<Results<Accepted<ExperimentAccepted>, ValidationProblem, ProblemHttpResult, NotFound>> Clone(
        Guid id, HttpContext http, ExperimentService experiments, CancellationToken ct)
    {
        var clone = await experiments.CloneAsync(id, UserContext.From(http.User), ct);
        if (clone.NotFound) return TypedResults.NotFound();
        if (clone.DatasetHidden)
            return TypedResults.Problem("This run's dataset is not shared with you, so it cannot be trained again by you; ask its owner to share the dataset.",
                statusCode: StatusCodes.Status403Forbidden, title: "Dataset not shared");
        var result = clone.Launch!;
        if (result.OverQuota is { } overQuota) return Quotas.QuotasApi.JobProblem(overQuota);
        if (result.ExperimentId is not { } newId) return FieldProblem(result.Errors);
        return TypedResults.Accepted($"/api/experiments/{newId}", new ExperimentAccepted(newId));
    }

    /// <summary>Field errors as a validation problem, keyed by the camelCase field name.</summary>
    internal static ValidationProblem FieldProblem(IReadOnlyList<FieldError> errors) =>
        TypedResults.ValidationProblem(errors.GroupBy(e => JsonName(e.Field)).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()));

    public static async Task<Ok<IReadOnlyList<ExperimentSummary>>> List(HttpContext http, ExperimentService experiments, CancellationToken ct) =>
        TypedResults.Ok(await experiments.ListAsync(UserContext.From(http.User), ct));

    public static async Task<Results<Ok<ExperimentDetail>, NotFound>> Get(Guid id, HttpContext http, ExperimentService experiments, CancellationToken ct) =>
        await experiments.GetAsync(id, UserContext.From(http.User), ct) is { } e ? TypedResults.Ok(e) : TypedResults.NotFound();

    public static async Task<Results<Ok<IReadOnlyList<CaseResultView>>, NotFound>> Cases(Guid id, HttpContext http, ExperimentService experiments, CancellationToken ct) =>
        await experiments.GetCaseResultsAsync(id, UserContext.From(http.User), ct) is { } cases ? TypedResults.Ok(cases) : TypedResults.NotFound();

    /// <summary>The review's case table as CSV, with the page's filters (<see cref="ReviewFilter"/>): <paramref name="classValue"/>
    /// a foreground class (that class's metrics of every case), <paramref name="emptyTruth"/> only cases with (true) or without
    /// (false) ground truth, <paramref name="diceBelow"/> only cases scoring Dice below it.</summary>
    public static async Task<Results<FileContentHttpResult, NotFound, ValidationProblem>> CasesCsv(Guid id, HttpContext http,
        ExperimentService experiments, CancellationToken ct, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "class")] int? classValue = null,
        bool? emptyTruth = null, double? diceBelow = null)
    {
        if (await experiments.GetCaseResultsAsync(id, UserContext.From(http.User), ct) is not { } cases) return TypedResults.NotFound();
        var errors = new Dictionary<string, string[]>();
        if (diceBelow is double x && !(x >= 0 && x <= 1))
            errors["diceBelow"] = [$"diceBelow must be a Dice between 0 and 1, got {x.ToString(System.Globalization.CultureInfo.InvariantCulture)}."];
        var classes = ReviewFilter.ClassesOf(cases);
        if (classValue is int k && cases.Count > 0 && !classes.Contains(k))
            errors["class"] = [classes.Count == 0
                ? "This experiment's cases were evaluated before per-class metrics were stored; leave class out."
                : $"Class {k} is not a foreground class of this experiment; use one of {string.Join(", ", classes)}."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var filter = new ReviewFilter(classValue, emptyTruth, diceBelow);
        var csv = ReviewTable.ToCsv(filter.Apply(cases), classValue);
        return TypedResults.File(System.Text.Encoding.UTF8.GetPreamble().Concat(System.Text.Encoding.UTF8.GetBytes(csv)).ToArray(),
            "text/csv; charset=utf-8", $"cases-{id:N}.csv");
    }

    /// <summary>Volume datasets: the validation volumes scored whole, worst first (empty for a 2D experiment).</summary>
    public static async Task<Results<Ok<IReadOnlyList<Engine.Metrics.VolumeResult>>, NotFound>> Volumes(Guid id, HttpContext http, VolumeReviewService volumes,
        CancellationToken ct) =>
        await volumes.GetVolumesAsync(id, UserContext.From(http.User), ct) is { } list ? TypedResults.Ok(list) : TypedResults.NotFound();

    /// <summary>Volume datasets: the validation volumes' predicted masks, one <c>case.nii.gz</c> each over the original's header.</summary>
    public static async Task<Results<PhysicalFileHttpResult, NotFound, ProblemHttpResult>> VolumeMasks(Guid id, HttpContext http, VolumeReviewService volumes,
        Audit.AuditLog audit, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        if (await volumes.MasksZipAsync(id, user, ct) is not { } path) return TypedResults.NotFound();
        if (path == VolumeReviewService.NoVolumes)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "No evaluated volumes",
                detail: "This experiment has no validation volumes scored whole: its dataset holds 2D images, or training has not completed. " +
                        "Download the per-case masks from the review instead, or wait for the run to complete.");
        await audit.WriteAsync(user, new Audit.AuditRecord(Audit.AuditActions.DownloadMasks, "experiment", id.ToString(), "validation volume masks"), ct);
        return TypedResults.PhysicalFile(path, "application/zip", $"volume-masks-{id:N}.zip");
    }

    /// <summary>The finished run's export (<see cref="ExperimentExportService"/>): 409 while it runs or when it has no checkpoint.</summary>
    public static async Task<Results<PhysicalFileHttpResult, NotFound, ProblemHttpResult>> ExportZip(Guid id, HttpContext http,
        ExperimentExportService exports, Audit.AuditLog audit, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        switch (await exports.ZipAsync(id, user, ct))
        {
            case ExportZipResult.Ready ready:
                await audit.WriteAsync(user, new Audit.AuditRecord(Audit.AuditActions.DownloadWeights, "experiment", id.ToString(), "export.zip"), ct);
                return TypedResults.PhysicalFile(ready.Path, "application/zip", $"medseg-export-{id:N}.zip");
            case ExportZipResult.NoWeights refused:
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: refused.Title, detail: refused.Detail);
            default:
                return TypedResults.NotFound();
        }
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> Cancel(Guid id, HttpContext http, ExperimentService experiments, CancellationToken ct) =>
        await experiments.CancelAsync(id, UserContext.From(http.User), ct) switch
        {
            ManageResult.Done => TypedResults.NoContent(),
            ManageResult.Forbidden => Forbidden("cancel"),
            _ => TypedResults.NotFound(),
        };

    /// <summary>The refusal of an owner-only action on an item shared read-only with the user.</summary>
    public static ProblemHttpResult Forbidden(string action) => TypedResults.Problem(
        $"This experiment is shared with you read-only; only its owner or an admin can {action} it.",
        statusCode: StatusCodes.Status403Forbidden, title: "Read-only");

    public static async Task<Results<Accepted, NotFound, ProblemHttpResult>> Resume(Guid id, HttpContext http, ExperimentService experiments, CancellationToken ct) =>
        await experiments.ResumeAsync(id, UserContext.From(http.User), ct) switch
        {
            ResumeResult.Resumed => TypedResults.Accepted($"/api/experiments/{id}"),
            ResumeResult.Forbidden => Forbidden("resume"),
            ResumeResult.StillStopping => TypedResults.Problem(Pages.ExperimentLive.StillStoppingMessage, statusCode: StatusCodes.Status409Conflict,
                title: "The run is still stopping"),
            _ => TypedResults.NotFound(),
        };

    /// <summary>Artifacts of a run (previews, predictions, comparison renditions), as PNG.</summary>
    public static async Task<Results<FileContentHttpResult, NotFound>> File(
        Guid id, string path, HttpContext http, ExperimentService experiments, CancellationToken ct, int size = 0)
    {
        var png = await experiments.RenderArtifactAsync(id, path, Math.Clamp(size, 0, 4096), UserContext.From(http.User), ct);
        if (png is null) return TypedResults.NotFound();
        http.Response.Headers.CacheControl = "private, max-age=3600";
        return TypedResults.File(png, "image/png");
    }

    /// <summary>The last <c>tail</c> lines (default 50, at most 1000) of the run's log, <c>logs/train.log</c>: epochs with loss,
    /// Dice, learning rate and time, warnings, restarts and the reason of a failure.</summary>
    public static async Task<Results<ContentHttpResult, NotFound>> Log(Guid id, HttpContext http, ExperimentService experiments, CancellationToken ct,
        int tail = RunLog.DefaultTail)
    {
        if (await experiments.LogTailAsync(id, tail, UserContext.From(http.User), ct) is not { } lines) return TypedResults.NotFound();
        http.Response.Headers.CacheControl = "no-store";
        return TypedResults.Text(lines.Count == 0 ? "" : string.Join('\n', lines) + "\n", "text/plain; charset=utf-8");
    }

    private static string JsonName(string field) => field.Length == 0 ? field : char.ToLowerInvariant(field[0]) + field[1..];

    /// <summary>
    /// The launch form's suggestions for a dataset and an architecture (<c>?datasetId=…&amp;model=unext</c>), each with the
    /// field it sets, its value and its reason, from the dataset's fingerprint (computed now when it has none yet) and this
    /// server's memory ceiling: what a script launches with to get "the suggested settings".
    /// </summary>
    /// <summary><c>GET /api/datasets/{id}/suggestion?model=</c>: the launch form's suggested settings for the dataset and model,
    /// each with its reason, and the launch request the form submits when no field is changed.</summary>
    public static async Task<Results<Ok<SuggestedSettings>, NotFound, ValidationProblem>> DatasetSuggestion(Guid id,
        HttpContext http, Datasets.DatasetService datasets, Microsoft.Extensions.Options.IOptions<Infrastructure.JobsOptions> jobs,
        Microsoft.Extensions.Options.IOptions<Infrastructure.TrainingOptions> training, CancellationToken ct, string? model = null)
    {
        var result = await Suggestions(http, datasets, jobs, training, ct, id, model);
        if (result.Result is not Ok<IReadOnlyList<LaunchSuggestion>> ok) return result.Result is NotFound ? TypedResults.NotFound() : (ValidationProblem)result.Result;
        var name = string.IsNullOrWhiteSpace(model) ? "unext" : model.Trim().ToLowerInvariant();
        var classes = (await datasets.GetAsync(id, UserContext.From(http.User), ct))?.Classes ?? 1;
        return TypedResults.Ok(new SuggestedSettings(id, name, ok.Value!, LaunchSuggestions.SuggestedRequest(id, name, classes, ok.Value!)));
    }

    public static async Task<Results<Ok<IReadOnlyList<LaunchSuggestion>>, NotFound, ValidationProblem>> Suggestions(
        HttpContext http, Datasets.DatasetService datasets, Microsoft.Extensions.Options.IOptions<Infrastructure.JobsOptions> jobs,
        Microsoft.Extensions.Options.IOptions<Infrastructure.TrainingOptions> training, CancellationToken ct, Guid? datasetId = null, string? model = null)
    {
        var name = string.IsNullOrWhiteSpace(model) ? "unext" : model.Trim().ToLowerInvariant();
        if (!MedSeg.Engine.Models.ModelRegistry.Contains(name))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["model"] = [$"Unknown architecture '{model}'. Choose one of: {string.Join(", ", MedSeg.Engine.Models.ModelRegistry.Names)}."],
            });
        if (datasetId is not { } id) return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["datasetId"] = ["Give the dataset's id."] });
        if (await datasets.FingerprintAsync(id, UserContext.From(http.User), ct) is not { } fingerprint) return TypedResults.NotFound();
        return TypedResults.Ok(LaunchSuggestions.For(fingerprint, name, ExperimentService.SizeMultiple(name), jobs.Value.EffectiveMemoryCeilingBytes,
            LaunchSuggestions.MaxSizeFor(training.Value.Device)));
    }
}
