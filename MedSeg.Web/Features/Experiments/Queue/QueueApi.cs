using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Experiments.Queue;

/// <summary><c>GET /api/queue</c>: the training queue (<see cref="QueueService"/>). Cancel a run with
/// <c>POST /api/experiments/{id}/cancel</c> (its owner or an admin; <see cref="QueueEntry.CanCancel"/> says who may).</summary>
public static class QueueApi
{
    public static IServiceCollection AddQueueFeature(this IServiceCollection services)
    {
        services.AddScoped<QueueService>();
        services.AddSingleton<TrainingDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<TrainingDispatcher>());
        return services;
    }

    public static IEndpointRouteBuilder MapQueueApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/queue", Get).WithTags("Experiments");
        return app;
    }

    public static async Task<Ok<QueueView>> Get(HttpContext http, QueueService queue, CancellationToken ct) =>
        TypedResults.Ok(await queue.GetAsync(UserContext.From(http.User), ct));
}
