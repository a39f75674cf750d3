using System.Text;
using MedSeg.Web.Features.Experiments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Leaderboards;

/// <summary><c>/api/leaderboards</c>: benchmark every architecture (or a chosen few) on a dataset and split with one budget;
/// the table per model, and its CSV.</summary>
public static class LeaderboardsApi
{
    public static IServiceCollection AddLeaderboardsFeature(this IServiceCollection services) => services.AddScoped<LeaderboardService>();

    public static IEndpointRouteBuilder MapLeaderboardsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/leaderboards").WithTags("Leaderboards");
        api.MapPost("/", Launch).RequireAuthorization(Account.AccountServiceExtensions.CreatePolicy)
            .WithSummary("Benchmark architectures: one run per model with its suggested settings and the same budget");
        api.MapGet("/", List).WithSummary("The user's leaderboards");
        api.MapGet("/{id:guid}", Get).WithSummary("Per model: size, latency, Dice/IoU/HD95 (mean ± std over folds), training time, peak memory, runs");
        api.MapGet("/{id:guid}/table.csv", Csv).WithSummary("The leaderboard's table as CSV");
        return app;
    }

    public static async Task<Results<Accepted<LeaderboardAccepted>, ValidationProblem, ProblemHttpResult>> Launch(
        LeaderboardRequest request, HttpContext http, LeaderboardService leaderboards, CancellationToken ct)
    {
        var result = await leaderboards.LaunchAsync(request, UserContext.From(http.User), ct);
        if (result.OverQuota is { } overQuota) return Quotas.QuotasApi.JobProblem(overQuota);
        if (result.GroupId is not { } id) return ExperimentsApi.FieldProblem(result.Errors);
        return TypedResults.Accepted($"/api/leaderboards/{id}", new LeaderboardAccepted(id, result.Members));
    }

    public static async Task<Ok<IReadOnlyList<LeaderboardSummary>>> List(HttpContext http, LeaderboardService leaderboards, CancellationToken ct) =>
        TypedResults.Ok(await leaderboards.ListAsync(UserContext.From(http.User), ct));

    public static async Task<Results<Ok<LeaderboardDetail>, NotFound>> Get(Guid id, HttpContext http, LeaderboardService leaderboards, CancellationToken ct) =>
        await leaderboards.GetAsync(id, UserContext.From(http.User), ct) is { } board ? TypedResults.Ok(board) : TypedResults.NotFound();

    public static async Task<Results<FileContentHttpResult, NotFound>> Csv(Guid id, HttpContext http, LeaderboardService leaderboards, CancellationToken ct)
    {
        if (await leaderboards.GetAsync(id, UserContext.From(http.User), ct) is not { } board) return TypedResults.NotFound();
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(LeaderboardCsv.ToCsv(board))).ToArray();
        return TypedResults.File(bytes, "text/csv; charset=utf-8", $"leaderboard-{id:N}.csv");
    }
}
