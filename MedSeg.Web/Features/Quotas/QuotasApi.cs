using MedSeg.Engine.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace MedSeg.Web.Features.Quotas;

/// <summary>Per-user storage and job quotas (<see cref="QuotaOptions"/>): <c>GET /api/quotas/me</c>, and the refusals the
/// upload, launch and prediction endpoints answer with.</summary>
public static class QuotasApi
{
    public static WebApplicationBuilder AddQuotasFeature(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton(Microsoft.Extensions.Options.Options.Create(QuotaOptions.Read(builder.Configuration)));
        builder.Services.AddSingleton<QuotaService>();
        return builder;
    }

    public static IEndpointRouteBuilder MapQuotasApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/quotas").WithTags("Quotas").MapGet("/me", Me);
        return app;
    }

    /// <summary><c>{storage: {usedBytes, limitBytes}, jobs: {active, limit}}</c>; a null limit is unlimited.</summary>
    public static async Task<Ok<QuotaStatus>> Me(HttpContext http, QuotaService quotas, CancellationToken ct) =>
        TypedResults.Ok(await quotas.GetAsync(UserContext.From(http.User), ct));

    /// <summary>413 in the upload refusal shape (<c>errors: [{file, problem}]</c>), with <c>usedBytes</c> and <c>limitBytes</c>.</summary>
    public static ProblemHttpResult StorageProblem(StorageRefusal refusal) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status413PayloadTooLarge,
        Title = "The upload was refused: it does not fit your storage quota; nothing was stored.",
        Detail = refusal.Message,
        Extensions =
        {
            ["errors"] = new[] { new DatasetProblem("(upload)", refusal.Message) },
            ["neededBytes"] = refusal.NeededBytes,
            ["usedBytes"] = refusal.UsedBytes,
            ["limitBytes"] = refusal.LimitBytes,
        },
    });

    /// <summary>429 naming the jobs queued or running and the limit.</summary>
    public static ProblemHttpResult JobProblem(JobRefusal refusal) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status429TooManyRequests,
        Title = "Too many jobs queued or running",
        Detail = refusal.Message,
        Extensions = { ["active"] = refusal.Active, ["limit"] = refusal.Limit },
    });
}
