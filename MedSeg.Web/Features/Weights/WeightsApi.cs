using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Weights;

/// <summary>The pretrained-weights library: any signed-in user lists it; admins upload and delete.</summary>
public static class WeightsApi
{
    /// <summary>Multipart overhead allowed above <see cref="LimitsOptions.WeightsBytes"/> (boundaries, headers, the name field).</summary>
    private const long FormOverheadBytes = 64 * 1024;

    public static IServiceCollection AddWeightsFeature(this IServiceCollection services)
    {
        services.AddScoped<WeightsService>();
        return services;
    }

    public static IEndpointRouteBuilder MapWeightsApi(this IEndpointRouteBuilder app)
    {
        var limits = app.ServiceProvider.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var api = app.MapGroup("/api/weights").WithTags("Weights");
        api.MapGet("/", List);
        // Multipart from scripts (bearer token) and from the admin page (XHR with the SameSite=Strict cookie), streamed to staging.
        api.MapPost("/", Upload).DisableAntiforgery().RequireAuthorization(AccountServiceExtensions.AdminPolicy)
            .WithBodyLimit(limits.WeightsBytes + FormOverheadBytes, WeightsService.TooLarge(limits));
        api.MapDelete("/{id:guid}", Delete).RequireAuthorization(AccountServiceExtensions.AdminPolicy);
        return app;
    }

    private const string NoFile = "Send a multipart form with a 'file' field holding a .pt/.pth (torch.save state dict) or .safetensors file, " +
                                  "and optionally a 'name' field.";

    public static async Task<Ok<IReadOnlyList<WeightsView>>> List(WeightsService weights, CancellationToken ct) =>
        TypedResults.Ok(await weights.ListAsync(ct));

    /// <summary>Multipart <c>file</c> and optional <c>name</c>: 201 with the stored file and its fits, or a refusal naming the file.</summary>
    public static async Task<Results<Created<WeightsView>, ProblemHttpResult, ForbidHttpResult>> Upload(
        HttpContext http, WeightsService weights, ArtifactStore store, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        var user = UserContext.From(http.User);
        var (upload, refusal) = await StagedUpload.ReceiveAsync(http.Request, store, limits.Value, NoFile, ct);
        if (upload is null)
        {
            // A body without a declared length that ran over the endpoint's limit: the weights' own limit, not the datasets'.
            return refusal!.ProblemDetails.Status == StatusCodes.Status413PayloadTooLarge
                ? Refusal("(upload)", WeightsService.TooLarge(limits.Value), StatusCodes.Status413PayloadTooLarge)
                : refusal;
        }
        using (upload)
        {
            var files = upload.Files.Where(f => f.Field == "file").ToList();
            if (files.Count != 1)
                return TypedResults.Problem(NoFile, statusCode: StatusCodes.Status400BadRequest, title: "Send exactly one weights file");
            return await weights.UploadAsync(files[0], upload.Field("name"), user, ct) switch
            {
                WeightsUploadResult.Stored s => TypedResults.Created($"/api/weights/{s.Weights.Id}", s.Weights),
                WeightsUploadResult.Refused r => Refusal(r.File, r.Problem, r.Status),
                _ => TypedResults.Forbid(),
            };
        }
    }

    /// <summary>The uploads' refusal style: RFC 7807 with <c>errors: [{file, problem}]</c>.</summary>
    private static ProblemHttpResult Refusal(string file, string problem, int status) => TypedResults.Problem(new ProblemDetails
    {
        Status = status,
        Title = "The weights file was refused; nothing was stored.",
        Detail = problem,
        Extensions = { ["errors"] = new[] { new DatasetProblem(file, problem) } },
    });

    public static async Task<Results<NoContent, NotFound, ForbidHttpResult>> Delete(Guid id, HttpContext http, WeightsService weights,
        CancellationToken ct) =>
        await weights.DeleteAsync(id, UserContext.From(http.User), ct) switch
        {
            true => TypedResults.NoContent(),
            false => TypedResults.NotFound(),
            null => TypedResults.Forbid(),
        };
}
