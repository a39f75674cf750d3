using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Nodes;

/// <summary>What <c>GET /health</c> answers: this process's node, role, queues and the runs it executes now.</summary>
public sealed record NodeHealth(string Status, string Node, string Role, IReadOnlyList<string> Queues, int RunningJobs);

public static class NodesApi
{
    public static IServiceCollection AddNodesFeature(this IServiceCollection services)
    {
        services.AddSingleton<NodeRegistry>();
        services.AddHostedService<NodeHeartbeatService>();
        return services;
    }

    /// <summary>The Nodes page's twin (admins) and the health endpoint every role answers (anonymous: a load balancer's probe).</summary>
    public static IEndpointRouteBuilder MapNodesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/admin/nodes", List).RequireAuthorization(Account.AccountServiceExtensions.AdminPolicy).WithTags("Nodes")
            .WithSummary("Every node seen within a day: role, queues, device, free memory, running jobs, last heartbeat");
        app.MapHealth();
        return app;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", Health).AllowAnonymous().WithTags("Nodes").WithSummary("This process's node, role and queues (anonymous)");
        return app;
    }

    public static Ok<IReadOnlyList<NodeView>> List(NodeRegistry registry) => TypedResults.Ok(registry.List());

    public static Ok<NodeHealth> Health(NodeIdentity identity, IOptions<JobsOptions> jobs, RunningExperiments running) =>
        TypedResults.Ok(new NodeHealth("ok", jobs.Value.ResolvedNodeName, identity.Role.ToString().ToLowerInvariant(),
            jobs.Value.RunServer ? JobQueues.Parse(jobs.Value.Queues) : [], running.Count));
}
