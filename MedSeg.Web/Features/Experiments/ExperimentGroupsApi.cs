using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Experiments;

public sealed record GroupAccepted(Guid Id, IReadOnlyList<Guid> Members);

/// <summary><c>/api/experiment-groups</c>: launch N seeds or every fold of a saved split as one action; a group's members with
/// their mean ± std.</summary>
public static class ExperimentGroupsApi
{
    public static IEndpointRouteBuilder MapExperimentGroupsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/experiment-groups").WithTags("Experiment groups");
        api.MapPost("/", Launch).RequireAuthorization(Account.AccountServiceExtensions.CreatePolicy);
        api.MapGet("/", List);
        api.MapGet("/{id:guid}", Get);
        return app;
    }

    public static async Task<Results<Accepted<GroupAccepted>, ValidationProblem, ProblemHttpResult>> Launch(
        GroupLaunchRequest request, HttpContext http, ExperimentGroupService groups, CancellationToken ct)
    {
        var result = await groups.LaunchAsync(request, UserContext.From(http.User), ct);
        if (result.OverQuota is { } overQuota) return Quotas.QuotasApi.JobProblem(overQuota);
        if (result.GroupId is not { } id) return ExperimentsApi.FieldProblem(result.Errors);
        return TypedResults.Accepted($"/api/experiment-groups/{id}", new GroupAccepted(id, result.Members));
    }

    public static async Task<Ok<IReadOnlyList<ExperimentGroupSummary>>> List(HttpContext http, ExperimentGroupService groups, CancellationToken ct) =>
        TypedResults.Ok(await groups.ListAsync(UserContext.From(http.User), ct));

    public static async Task<Results<Ok<ExperimentGroupDetail>, NotFound>> Get(Guid id, HttpContext http, ExperimentGroupService groups, CancellationToken ct) =>
        await groups.GetAsync(id, UserContext.From(http.User), ct) is { } group ? TypedResults.Ok(group) : TypedResults.NotFound();
}
