using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Experiments.Compare;

/// <summary><c>GET /api/compare?ids=a,b&amp;groups=g</c>: 2 … 10 runs side by side (<see cref="CompareService"/>).</summary>
public static class CompareApi
{
    public static IEndpointRouteBuilder MapCompareApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/compare", Get).WithTags("Experiments")
            .WithSummary("Compare 2 to 10 experiments (ids, and groups expanded to their members)")
            .WithDescription("Curves per run, the configuration fields that differ, final metrics with mean ± std per group, and the " +
                             "evaluated cases with each run's Dice, the largest spread between the runs first.");
        return app;
    }

    public static async Task<Results<Ok<CompareView>, ValidationProblem, ProblemHttpResult>> Get(HttpContext http, CompareService compare,
        CancellationToken ct, string? ids = null, string? groups = null)
    {
        var (query, errors) = CompareQuery.Parse(ids, groups);
        if (errors.Count > 0) return ExperimentsApi.FieldProblem(errors);
        var result = await compare.CompareAsync(query, UserContext.From(http.User), ct);
        if (result.NotFound is { } notFound) return TypedResults.Problem(notFound, statusCode: StatusCodes.Status404NotFound, title: "Not found");
        if (result.View is not { } view) return ExperimentsApi.FieldProblem(result.Errors);
        return TypedResults.Ok(view);
    }
}
