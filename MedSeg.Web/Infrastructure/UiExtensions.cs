using MedSeg.Web.Components;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Deletion;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Queue;
using MedSeg.Web.Features.Nodes;
using MedSeg.Web.Features.Notifications;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Weights;
using MudBlazor.Services;

namespace MedSeg.Web.Infrastructure;

public static class UiExtensions
{
    public static WebApplicationBuilder AddMedSegFeatures(this WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices();
        // With Redis, the hubs scale out through its backplane: a message sent on any node (a worker's notifier included)
        // reaches the browsers connected to every web node.
        var signalR = builder.Services.AddSignalR();
        var redis = builder.Configuration.Get<RedisOptions>(RedisOptions.Section);
        if (redis.Enabled)
        {
            signalR.AddStackExchangeRedis(redis.ConnectionString, o => o.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal("medseg"));
        }
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddAuditFeature();
        builder.Services.AddUsersFeature();
        builder.Services.AddSharingFeature();
        builder.Services.AddDatasetsFeature();
        builder.Services.AddExperimentsFeature();
        builder.Services.AddPredictionsFeature();
        builder.Services.AddDeletionFeature();
        builder.Services.AddWeightsFeature();
        builder.Services.AddNotificationsFeature();
        builder.Services.AddNodesFeature();
        builder.AddQuotasFeature();
        builder.AddMedSegLimits();
        builder.AddMedSegWebSurface();
        builder.Services.AddMedSegApiReference();
        return builder;
    }

    public static WebApplication MapMedSeg(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<NodeIdentity>().Role.ServesWeb()) return app.MapMedSegWorker();
        // Forwarded headers first: the rate limiter, cookies, HSTS and the origin check see the client's address and scheme.
        app.UseMedSegForwardedHeaders();
        app.UseMedSegSecurityHeaders();
        app.UseMedSegErrorHandling();
        app.UseMedSegHttps();
        // Friendly "not found" pages for the UI only; APIs and the hub keep their status codes and problem details.
        app.UseWhen(ctx => !ctx.Request.Path.StartsWithSegments("/api") && !ctx.Request.Path.StartsWithSegments("/hubs"),
            ui => ui.UseStatusCodePagesWithReExecute("/not-found", "?status={0}", createScopeForStatusCodePages: true));
        // Routing after the status code pages, so that their re-executed request finds the not-found page's endpoint (with
        // the implicit routing at the start of the pipeline it found none, and a signed-in user got an empty 404).
        app.UseRouting();
        // Body limits and the sign-in rate limit come before anything that could read a body.
        app.UseMedSegLimits();
        app.UseAuthentication();
        // Cookie-signed state changes on the APIs and the hub must come from this server's pages (CSRF).
        app.UseMedSegOriginCheck();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.MapStaticAssets().AllowAnonymous();
        app.MapMedSegJobsDashboard();
        app.MapAccountApi();
        app.MapAuditApi();
        app.MapUsersApi();
        app.MapSharesApi();
        app.MapDatasetsApi();
        app.MapExperimentsApi();
        app.MapQueueApi();
        app.MapPredictionsApi();
        app.MapDeletionApi();
        app.MapQuotasApi();
        app.MapWeightsApi();
        app.MapMedSegApiReference();
        app.MapNotificationsApi();
        app.MapNodesApi();
        app.MapHub<ExperimentHub>(ExperimentHub.Url);
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
        return app;
    }

    /// <summary>A worker (<c>--role worker</c>): job servers and <c>GET /health</c>, no pages, API or hubs.</summary>
    public static WebApplication MapMedSegWorker(this WebApplication app)
    {
        app.UseMedSegErrorHandling();
        app.UseRouting();
        // Anything but the health endpoint is not here (not a sign-in redirect: a worker has no pages).
        app.Use((context, next) =>
        {
            if (context.GetEndpoint() is not null) return next(context);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        // After routing, so that the fallback policy (signed-in users only) sees the health endpoint's AllowAnonymous.
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHealth();
        return app;
    }
}
