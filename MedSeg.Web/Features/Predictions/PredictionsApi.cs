using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

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
        api.MapPost("/", Start).DisableAntiforgery();
        api.MapGet("/", List);
        api.MapGet("/{runId:guid}", Get);
        api.MapGet("/{runId:guid}/masks.zip", Masks);
        api.MapGet("/{runId:guid}/images/{name}.png", Rendition);
        return app;
    }

    public static async Task<Results<Accepted<PredictionAccepted>, ProblemHttpResult, NotFound>> Start(
        Guid id, HttpContext http, PredictionService predictions, CancellationToken ct)
    {
        if (!http.Request.HasFormContentType)
        {
            return TypedResults.Problem("Send a multipart form with a 'file' field holding a .zip of images (or 'files' fields holding images).",
                statusCode: 400, title: "No file was uploaded");
        }
        var form = await http.Request.ReadFormAsync(ct);
        var uploads = form.Files.GetFiles("file").Concat(form.Files.GetFiles("files"))
            .Select(f => new PredictionUpload(f.FileName, f.OpenReadStream)).ToList();
        if (!TryFlag(form, "tta", out var tta) || !TryFlag(form, "largestComponent", out var lcc))
        {
            return TypedResults.Problem("'tta' and 'largestComponent' are true or false.", statusCode: 400, title: "Invalid option");
        }
        var result = await predictions.StartAsync(id, uploads, tta, lcc, UserContext.From(http.User), ct);
        return result switch
        {
            StartPredictionResult.Started s => TypedResults.Accepted($"/api/experiments/{id}/predictions/{s.RunId}", new PredictionAccepted(s.RunId)),
            StartPredictionResult.NotCompleted n => TypedResults.Problem(
                $"The experiment is {n.Status}; predictions need a Completed experiment (its best checkpoint).",
                statusCode: StatusCodes.Status409Conflict, title: "The experiment has not completed"),
            StartPredictionResult.Refused r => TypedResults.Problem(new ProblemDetails
            {
                // RFC 7807 with one entry per problem file, as for dataset uploads: {"title": ..., "errors": [{"file": ..., "problem": ...}]}.
                Status = StatusCodes.Status400BadRequest,
                Title = $"The upload was refused: {r.Problems.Count} problem(s); nothing was stored.",
                Detail = "Fix the files listed in 'errors' and upload again.",
                Extensions = { ["errors"] = r.Problems },
            }),
            _ => TypedResults.NotFound(),
        };
    }

    public static async Task<Results<Ok<IReadOnlyList<PredictionRunSummary>>, NotFound>> List(
        Guid id, HttpContext http, PredictionService predictions, CancellationToken ct) =>
        await predictions.ListAsync(id, UserContext.From(http.User), ct) is { } runs ? TypedResults.Ok(runs) : TypedResults.NotFound();

    public static async Task<Results<Ok<PredictionRunDetail>, NotFound>> Get(
        Guid id, Guid runId, HttpContext http, PredictionService predictions, CancellationToken ct) =>
        await predictions.GetAsync(id, runId, UserContext.From(http.User), ct) is { } run ? TypedResults.Ok(run) : TypedResults.NotFound();

    public static async Task<Results<PhysicalFileHttpResult, NotFound>> Masks(
        Guid id, Guid runId, HttpContext http, PredictionService predictions, CancellationToken ct) =>
        await predictions.MasksZipAsync(id, runId, UserContext.From(http.User), ct) is { } path
            ? TypedResults.PhysicalFile(path, "application/zip", $"masks-{runId:N}.zip")
            : TypedResults.NotFound();

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

    private static bool TryFlag(IFormCollection form, string key, out bool value)
    {
        switch (form[key].ToString().Trim().ToLowerInvariant())
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
