using MedSeg.Data.Files;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Predictions;

/// <summary>Predict with a trained experiment: upload images, follow the run, download masks and renditions.</summary>
public static class PredictionsApi
{
    public static IServiceCollection AddPredictionsFeature(this IServiceCollection services)
    {
        services.AddSingleton<PredictionRunFiles>();
        services.AddScoped<PredictionService>();
        services.AddScoped<PredictJob>();
        return services;
    }

    public static IEndpointRouteBuilder MapPredictionsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/experiments/{id:guid}/predictions").WithTags("Predictions");
        // Multipart uploads come from scripts (bearer token) and from the predict page (XHR with the SameSite=Strict cookie).
        // The body is streamed to staging once (StagedUpload), never read as an IFormFile.
        api.MapPost("/", Start).DisableAntiforgery().WithUploadLimit(app).RequireAuthorization(Account.AccountServiceExtensions.CreatePolicy);
        api.MapGet("/", List);
        api.MapGet("/{runId:guid}", Get);
        api.MapGet("/{runId:guid}/masks.zip", Masks);
        api.MapGet("/{runId:guid}/images/{name}.png", Rendition);
        return app;
    }

    private const string NoFile = "Send a multipart form with a 'file' field holding a .zip of images (or 'files' fields holding images).";

    /// <summary>Multipart <c>file</c> (a .zip of images) and/or <c>files</c> (images), optional <c>tta</c>, <c>largestComponent</c>,
    /// <c>slidingWindow</c> (true: tile the native resolution with training-size windows instead of resizing), and
    /// <c>experimentIds</c> (comma-separated ids of Completed runs of the same dataset version, at most 10 with this one:
    /// an ensemble averaging their probabilities).</summary>
    public static async Task<Results<Accepted<PredictionAccepted>, ProblemHttpResult, ValidationProblem, NotFound>> Start(
        Guid id, HttpContext http, PredictionService predictions, ArtifactStore store, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        // Answered before the body is read: an unknown or unfinished experiment costs no upload.
        if (await predictions.CheckStartableAsync(id, user, ct) is { } early) return ToResult(id, early);
        var (upload, refusal) = await StagedUpload.ReceiveAsync(http.Request, store, limits.Value, NoFile, ct);
        if (upload is null) return refusal!;
        using (upload)
        {
            if (!TryFlag(upload.Field("tta"), out var tta) || !TryFlag(upload.Field("largestComponent"), out var lcc)
                || !TryFlag(upload.Field("slidingWindow"), out var sliding))
            {
                return TypedResults.Problem("'tta', 'largestComponent' and 'slidingWindow' are true or false.", statusCode: 400, title: "Invalid option");
            }
            var (ensemble, ensembleError) = await predictions.CheckEnsembleAsync(id, upload.Field(PredictionService.EnsembleField), user, ct);
            if (ensembleError is not null) return ToResult(id, new StartPredictionResult.Invalid(PredictionService.EnsembleField, ensembleError));
            var files = upload.Files.Where(f => f.Field is "file" or "files").ToList();
            return ToResult(id, await predictions.StartAsync(id, files, upload.Directory, tta, lcc, user, ct, ensemble, sliding));
        }
    }

    private static Results<Accepted<PredictionAccepted>, ProblemHttpResult, ValidationProblem, NotFound> ToResult(Guid id, StartPredictionResult result) => result switch
    {
        StartPredictionResult.Invalid i => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [i.Field] = [i.Message] }),
        StartPredictionResult.Started s => TypedResults.Accepted($"/api/experiments/{id}/predictions/{s.RunId}", new PredictionAccepted(s.RunId)),
        StartPredictionResult.NotCompleted n => TypedResults.Problem(
            $"The experiment is {n.Status}; predictions need a Completed experiment (its best checkpoint).",
            statusCode: StatusCodes.Status409Conflict, title: "The experiment has not completed"),
        StartPredictionResult.Refused r => UploadRefusal.Problem(r.Problems),
        StartPredictionResult.OverQuota q => Quotas.QuotasApi.JobProblem(q.Refusal),
        _ => TypedResults.NotFound(),
    };

    public static async Task<Results<Ok<IReadOnlyList<PredictionRunSummary>>, NotFound>> List(
        Guid id, HttpContext http, PredictionService predictions, CancellationToken ct) =>
        await predictions.ListAsync(id, UserContext.From(http.User), ct) is { } runs ? TypedResults.Ok(runs) : TypedResults.NotFound();

    public static async Task<Results<Ok<PredictionRunDetail>, NotFound>> Get(
        Guid id, Guid runId, HttpContext http, PredictionService predictions, CancellationToken ct) =>
        await predictions.GetAsync(id, runId, UserContext.From(http.User), ct) is { } run ? TypedResults.Ok(run) : TypedResults.NotFound();

    public static async Task<Results<PhysicalFileHttpResult, NotFound>> Masks(
        Guid id, Guid runId, HttpContext http, PredictionService predictions, AuditLog audit, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        if (await predictions.MasksZipAsync(id, runId, user, ct) is not { } path) return TypedResults.NotFound();
        await audit.WriteAsync(user, new AuditRecord(AuditActions.DownloadMasks, "prediction", runId.ToString(), $"masks of experiment {id}"), ct);
        return TypedResults.PhysicalFile(path, "application/zip", $"masks-{runId:N}.zip");
    }

    /// <summary><c>kind</c> = image | mask | overlay (default overlay); <c>size</c> = longest side (0 = original).</summary>
    public static async Task<Results<FileContentHttpResult, NotFound>> Rendition(
        Guid id, Guid runId, string name, HttpContext http, PredictionService predictions, CancellationToken ct, string? kind = null, int size = 256)
    {
        var rendition = PredictionRendition.Overlay;
        if (kind is not null && !Enum.TryParse(kind, ignoreCase: true, out rendition)) return TypedResults.NotFound();
        var png = await predictions.RenderAsync(id, runId, name, rendition, Math.Clamp(size, 0, 4096), UserContext.From(http.User), ct);
        if (png is null) return TypedResults.NotFound();
        http.Response.Headers.CacheControl = "private, max-age=3600";
        return TypedResults.File(png, "image/png");
    }

    private static bool TryFlag(string? text, out bool value)
    {
        switch ((text ?? "").Trim().ToLowerInvariant())
        {
            case "" or "false" or "off" or "0":
                value = false;
                return true;
            case "true" or "on" or "1":
                value = true;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
