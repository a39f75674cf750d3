using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Sharing;

/// <summary><c>/api/datasets/{id}/shares</c> and <c>/api/experiments/{id}/shares</c>: list, add, remove (owner or admin).</summary>
public static class SharesApi
{
    public static IServiceCollection AddSharingFeature(this IServiceCollection services)
    {
        services.AddScoped<ShareService>();
        return services;
    }

    public static IEndpointRouteBuilder MapSharesApi(this IEndpointRouteBuilder app)
    {
        Map(app.MapGroup("/api/datasets/{id:guid}/shares").WithTags("Datasets"), ShareKind.Dataset);
        Map(app.MapGroup("/api/experiments/{id:guid}/shares").WithTags("Experiments"), ShareKind.Experiment);
        return app;
    }

    private static void Map(RouteGroupBuilder group, ShareKind kind)
    {
        group.MapGet("/", (Guid id, HttpContext http, ShareService shares, CancellationToken ct) => List(kind, id, http, shares, ct));
        group.MapPost("/", (Guid id, ShareRequest request, HttpContext http, ShareService shares, CancellationToken ct) => Share(kind, id, request, http, shares, ct));
        group.MapDelete("/{shareId:guid}", (Guid id, Guid shareId, HttpContext http, ShareService shares, CancellationToken ct) => Unshare(kind, id, shareId, http, shares, ct));
    }

    public static async Task<Results<Ok<IReadOnlyList<ShareView>>, NotFound, ProblemHttpResult>> List(
        ShareKind kind, Guid id, HttpContext http, ShareService shares, CancellationToken ct)
    {
        var (access, list) = await shares.ListAsync(kind, id, UserContext.From(http.User), ct);
        return access switch
        {
            ManageResult.Done => TypedResults.Ok(list),
            ManageResult.Forbidden => ReadOnly(kind),
            _ => TypedResults.NotFound(),
        };
    }

    public static async Task<Results<Created<ShareView>, ValidationProblem, NotFound, ProblemHttpResult>> Share(
        ShareKind kind, Guid id, ShareRequest request, HttpContext http, ShareService shares, CancellationToken ct) =>
        await shares.ShareAsync(kind, id, request, UserContext.From(http.User), ct) switch
        {
            ShareResult.Done d => TypedResults.Created($"{http.Request.Path}/{d.Share.Id}", d.Share),
            ShareResult.Invalid i => TypedResults.ValidationProblem(new Dictionary<string, string[]> { [i.Field] = [i.Message] }),
            ShareResult.Forbidden => ReadOnly(kind),
            _ => TypedResults.NotFound(),
        };

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> Unshare(
        ShareKind kind, Guid id, Guid shareId, HttpContext http, ShareService shares, CancellationToken ct) =>
        await shares.UnshareAsync(kind, id, shareId, UserContext.From(http.User), ct) switch
        {
            ManageResult.Done => TypedResults.NoContent(),
            ManageResult.Forbidden => ReadOnly(kind),
            _ => TypedResults.NotFound(),
        };

    private static ProblemHttpResult ReadOnly(ShareKind kind) => TypedResults.Problem(
        $"This {kind.ToString().ToLowerInvariant()} is shared with you read-only; only its owner or an admin manages its shares.",
        statusCode: StatusCodes.Status403Forbidden, title: "Read-only");
}
