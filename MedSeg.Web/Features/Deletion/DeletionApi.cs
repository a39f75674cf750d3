using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MedSeg.Web.Features.Deletion;

/// <summary>
/// <c>DELETE /api/datasets/{id}[?withExperiments=true]</c>, <c>DELETE /api/experiments/{id}</c> and
/// <c>DELETE /api/experiments/{id}/predictions/{runId}</c>: 200 <c>{freedBytes, deleted: {datasets, experiments,
/// predictionRuns}}</c>; 404 for what the user cannot see, 403 for what they may only read, 409 (nothing deleted) when it is
/// in use, still stopping, or a prediction on it is in progress.
/// </summary>
public static class DeletionApi
{
    public static IServiceCollection AddDeletionFeature(this IServiceCollection services)
    {
        services.AddScoped<DeletionService>();
        services.AddSingleton<StorageReconciler>();
        return services;
    }

    public static IEndpointRouteBuilder MapDeletionApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Deletion");
        api.MapDelete("/datasets/{id:guid}", DeleteDataset);
        api.MapDelete("/experiments/{id:guid}", DeleteExperiment);
        api.MapDelete("/experiments/{id:guid}/predictions/{runId:guid}", DeletePredictionRun);
        return app;
    }

    public static async Task<Results<Ok<DeleteResponse>, NotFound, ProblemHttpResult>> DeleteDataset(
        Guid id, HttpContext http, DeletionService deletion, CancellationToken ct, bool withExperiments = false) =>
        ToResult(await deletion.DeleteDatasetAsync(id, withExperiments, UserContext.From(http.User), ct));

    public static async Task<Results<Ok<DeleteResponse>, NotFound, ProblemHttpResult>> DeleteExperiment(
        Guid id, HttpContext http, DeletionService deletion, CancellationToken ct) =>
        ToResult(await deletion.DeleteExperimentAsync(id, UserContext.From(http.User), ct));

    public static async Task<Results<Ok<DeleteResponse>, NotFound, ProblemHttpResult>> DeletePredictionRun(
        Guid id, Guid runId, HttpContext http, DeletionService deletion, CancellationToken ct) =>
        ToResult(await deletion.DeletePredictionRunAsync(id, runId, UserContext.From(http.User), ct));

    private static Results<Ok<DeleteResponse>, NotFound, ProblemHttpResult> ToResult(DeleteOutcome outcome) => outcome switch
    {
        DeleteOutcome.Done done => TypedResults.Ok(done.Response),
        DeleteOutcome.Forbidden f => TypedResults.Problem(f.Message, statusCode: StatusCodes.Status403Forbidden, title: "Read-only"),
        DeleteOutcome.Conflict c => TypedResults.Problem(new ProblemDetails
        {
            Status = StatusCodes.Status409Conflict,
            Title = c.Title,
            Detail = c.Message,
            Extensions = { ["experiments"] = c.Experiments },
        }),
        _ => TypedResults.NotFound(),
    };
}
