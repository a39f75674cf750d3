using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Notifications;

public sealed record ReadAllResult(int Marked);

/// <summary>The caller's own notifications: list (newest first, <c>?unread=true</c> for the unread ones), mark read.</summary>
public static class NotificationsApi
{
    public static IServiceCollection AddNotificationsFeature(this IServiceCollection services)
    {
        services.AddSingleton<NotificationService>();
        services.AddScoped<WebhookService>();
        services.AddTransient<NotificationFeed>();
        services.AddHttpClient(WebhookWorker.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan); // the worker's own timeout applies
        services.AddHostedService<WebhookWorker>();
        return services;
    }

    public static IEndpointRouteBuilder MapNotificationsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/notifications").WithTags("Notifications");
        api.MapGet("/", List);
        api.MapPost("/{id:guid}/read", Read);
        api.MapPost("/read-all", ReadAll);
        app.MapHub<NotificationHub>(NotificationHub.Url);
        return app;
    }

    public static async Task<Ok<IReadOnlyList<NotificationView>>> List(HttpContext http, NotificationService notifications, bool? unread, CancellationToken ct) =>
        TypedResults.Ok(await notifications.ListAsync(UserContext.From(http.User).UserId, unread == true, ct: ct));

    public static async Task<Results<NoContent, NotFound>> Read(Guid id, HttpContext http, NotificationService notifications, CancellationToken ct) =>
        await notifications.MarkReadAsync(UserContext.From(http.User).UserId, id, ct) ? TypedResults.NoContent() : TypedResults.NotFound();

    public static async Task<Ok<ReadAllResult>> ReadAll(HttpContext http, NotificationService notifications, CancellationToken ct) =>
        TypedResults.Ok(new ReadAllResult(await notifications.MarkAllReadAsync(UserContext.From(http.User).UserId, ct)));
}
