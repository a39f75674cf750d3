using MedSeg.Data.Files;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Quotas;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Datasets;

public sealed record DatasetCreated(Guid Id, int Cases);

public static class DatasetsApi
{
    public static IServiceCollection AddDatasetsFeature(this IServiceCollection services)
    {
        services.AddScoped<DatasetService>();
        return services;
    }

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/datasets").WithTags("Datasets");
        // Multipart uploads come from scripts (bearer token) and from the upload page (XHR with the SameSite=Strict cookie).
        // The body is streamed to staging once (StagedUpload), never read as an IFormFile.
        api.MapPost("/", Upload).DisableAntiforgery().WithUploadLimit(app).RequireAuthorization(AccountServiceExtensions.CreatePolicy);
        api.MapGet("/", List);
        api.MapGet("/{id:guid}", Get);
        api.MapPut("/{id:guid}/classes", SetClasses);
        api.MapGet("/{id:guid}/cases", Cases);
        api.MapGet("/{id:guid}/cases/{caseId:guid}/{rendition}.png", Rendition);
        return app;
    }

    private const string NoFile = "Send a multipart form with a 'file' field holding a .zip with images/ and masks/.";

    /// <summary>Multipart <c>name</c> (optional) and <c>file</c> (the .zip).</summary>
    public static async Task<Results<Created<DatasetCreated>, ProblemHttpResult>> Upload(
        HttpContext http, DatasetService datasets, ArtifactStore store, IOptions<LimitsOptions> limits, QuotaService quotas, CancellationToken ct)
    {
        // Refused from the declared length before a byte is read when it cannot fit the storage quota; checked again
        // after unpacking (DatasetService), when the real size is known.
        if (await quotas.CheckStorageAsync(UserContext.From(http.User), http.Request.ContentLength, ct) is { } overQuota)
        {
            http.Response.Headers.Connection = "close";
            return QuotasApi.StorageProblem(overQuota);
        }
        var (upload, refusal) = await StagedUpload.ReceiveAsync(http.Request, store, limits.Value, NoFile, ct);
        if (upload is null) return refusal!;
        using (upload)
        {
            var file = upload.Files.FirstOrDefault(f => f.Field == "file");
            if (file is null || file.Length == 0)
            {
                return TypedResults.Problem(NoFile, statusCode: 400, title: "No file was uploaded");
            }
            var (classes, badClasses) = ParseClasses(upload.Field("classes"));
            if (badClasses is not null) return UploadRefusal.Problem([new DatasetProblem("classes", badClasses)]);
            var name = upload.Field("name");
            var datasetName = string.IsNullOrWhiteSpace(name) ? Path.GetFileNameWithoutExtension(file.FileName) : name.Trim();
            var result = await datasets.IngestZipAsync(datasetName, file, upload.Directory, UserContext.From(http.User), ct, classes);
            if (result.OverQuota is { } unpackedOverQuota) return QuotasApi.StorageProblem(unpackedOverQuota);
            if (result.Dataset is null) return UploadRefusal.Problem(result.Problems);
            return TypedResults.Created($"/api/datasets/{result.Dataset.Id}", new DatasetCreated(result.Dataset.Id, result.Dataset.Cases));
        }
    }

    /// <summary>The optional multipart field <c>classes</c>: JSON <c>[{value, name, colour}]</c>; checked against the masks'
    /// class count after the scan (<see cref="ClassMap.Check"/>).</summary>
    internal static (IReadOnlyList<ClassEntry>? Classes, string? Problem) ParseClasses(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return (null, null);
        const string Shape = "classes: send a JSON list such as [{\"value\":0,\"name\":\"background\",\"colour\":\"#000000\"},{\"value\":1,\"name\":\"lesion\",\"colour\":\"#ff0000\"}]";
        try
        {
            var entries = System.Text.Json.JsonSerializer.Deserialize<List<ClassEntry>>(json, ClassJson);
            return entries is { Count: > 0 } && entries.All(e => e is not null) ? (entries, null) : (null, Shape + "; it was empty.");
        }
        catch (System.Text.Json.JsonException e)
        {
            return (null, $"{Shape}; it could not be read ({e.Message.Split('.')[0]}).");
        }
    }

    private static readonly System.Text.Json.JsonSerializerOptions ClassJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    /// <summary><c>PUT /api/datasets/{id}/classes</c>: body <c>[{value, name, colour}]</c>, the whole map; answers the stored map.</summary>
    public static async Task<Results<Ok<IReadOnlyList<ClassEntry>>, NotFound, ProblemHttpResult, ValidationProblem>> SetClasses(
        Guid id, List<ClassEntry> classes, HttpContext http, DatasetService datasets, CancellationToken ct)
    {
        var result = await datasets.SetClassesAsync(id, classes, UserContext.From(http.User), ct);
        return result switch
        {
            { Result: ManageResult.NotFound } => TypedResults.NotFound(),
            { Result: ManageResult.Forbidden } => TypedResults.Problem(
                "This dataset is shared with you read-only; only its owner or an admin can change its class map.",
                statusCode: StatusCodes.Status403Forbidden, title: "Read-only"),
            { Problem: { } problem } => TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["classes"] = [problem] }),
            _ => TypedResults.Ok(result.Classes!),
        };
    }

    public static async Task<Ok<IReadOnlyList<DatasetSummary>>> List(HttpContext http, DatasetService datasets, CancellationToken ct) =>
        TypedResults.Ok(await datasets.ListAsync(UserContext.From(http.User), ct));

    public static async Task<Results<Ok<DatasetSummary>, NotFound>> Get(Guid id, HttpContext http, DatasetService datasets, CancellationToken ct) =>
        await datasets.GetAsync(id, UserContext.From(http.User), ct) is { } d ? TypedResults.Ok(d) : TypedResults.NotFound();

    public static async Task<Results<Ok<IReadOnlyList<DatasetCaseSummary>>, NotFound>> Cases(
        Guid id, HttpContext http, DatasetService datasets, CancellationToken ct, int skip = 0, int take = 100)
    {
        var user = UserContext.From(http.User);
        if (await datasets.GetAsync(id, user, ct) is null) return TypedResults.NotFound();
        return TypedResults.Ok(await datasets.ListCasesAsync(id, user, Math.Max(0, skip), Math.Clamp(take, 1, 1000), ct));
    }

    public static async Task<Results<FileContentHttpResult, NotFound>> Rendition(
        Guid id, Guid caseId, string rendition, HttpContext http, DatasetService datasets, CancellationToken ct, int size = 256)
    {
        if (!Enum.TryParse<CaseRendition>(rendition, ignoreCase: true, out var kind)) return TypedResults.NotFound();
        var png = await datasets.RenderCaseAsync(id, caseId, kind, Math.Clamp(size, 0, 4096), UserContext.From(http.User), ct);
        if (png is null) return TypedResults.NotFound();
        http.Response.Headers.CacheControl = "private, max-age=86400";
        return TypedResults.File(png, "image/png");
    }
}
