using System.Text;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Account;
using Microsoft.AspNetCore.Http.HttpResults;

namespace MedSeg.Web.Features.Datasets;

/// <summary>An upload as the API shows it (<c>GET /api/uploads/{id}</c>). <c>state</c>: queued, unpacking, validating,
/// awaitingdecision, committing, stored, refused, cancelled, failed.</summary>
public sealed record UploadStatus(Guid Id, string Name, string FileName, long Bytes, string State, int Done, int Total, string? Message,
    IReadOnlyList<DatasetProblem> Problems, int? ValidCases, IReadOnlyList<ClassEntry>? Classes, IReadOnlyList<string> LeftOut,
    Guid? DatasetId, int StoredCases, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt, string ReportUrl)
{
    public static UploadStatus Of(UploadJob j)
    {
        var review = j.Review;
        return new(j.Id, j.Name, j.FileName, j.Bytes, j.State.ToString().ToLowerInvariant(), j.Done, j.Total, j.Message,
            review?.Problems ?? j.Problems, review?.ValidCases, review?.ClassMap, review?.LeftOut ?? j.LeftOut, j.DatasetId, j.StoredCases,
            j.StartedAt, j.FinishedAt, UploadsApi.ReportUrl(j.Id));
    }
}

/// <summary><c>POST /api/uploads/{id}/admit</c>: store the validated upload (without its bad cases), optionally renamed and
/// with the class map as edited.</summary>
public sealed record AdmitRequest(string? Name = null, IReadOnlyList<ClassEntry>? Classes = null);

/// <summary>Uploads in the background: follow one, admit it without its bad cases or refuse it, cancel it, get its report.</summary>
public static class UploadsApi
{
    public static string ReportUrl(Guid id) => $"/api/uploads/{id}/report.csv";

    public static IEndpointRouteBuilder MapUploadsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/uploads").WithTags("Datasets");
        api.MapGet("/", List);
        api.MapGet("/{id:guid}", Get);
        api.MapGet("/{id:guid}/report.csv", Report);
        api.MapPost("/{id:guid}/admit", Admit).RequireAuthorization(AccountServiceExtensions.CreatePolicy);
        api.MapDelete("/{id:guid}", Cancel).RequireAuthorization(AccountServiceExtensions.CreatePolicy);
        return app;
    }

    public static Ok<IReadOnlyList<UploadStatus>> List(HttpContext http, UploadTracker tracker) =>
        TypedResults.Ok<IReadOnlyList<UploadStatus>>([.. tracker.For(UserContext.From(http.User)).Select(UploadStatus.Of)]);

    public static Results<Ok<UploadStatus>, NotFound> Get(Guid id, HttpContext http, UploadTracker tracker) =>
        tracker.Get(id, UserContext.From(http.User)) is { } job ? TypedResults.Ok(UploadStatus.Of(job)) : TypedResults.NotFound();

    public static Results<FileContentHttpResult, NotFound> Report(Guid id, HttpContext http, UploadTracker tracker)
    {
        if (tracker.Get(id, UserContext.From(http.User)) is not { } job) return TypedResults.NotFound();
        var status = UploadStatus.Of(job);
        var csv = UploadReport.ToCsv(status.Problems, job.State == UploadState.Stored ? job.LeftOut : null);
        var name = string.Concat(job.Name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
        return TypedResults.File(Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(csv)).ToArray(), "text/csv; charset=utf-8",
            $"{(name.Length == 0 ? "upload" : name)}-report.csv");
    }

    public static Results<Accepted<UploadStatus>, NotFound, ProblemHttpResult> Admit(Guid id, AdmitRequest? request, HttpContext http, UploadTracker tracker)
    {
        if (tracker.Get(id, UserContext.From(http.User)) is not { } job) return TypedResults.NotFound();
        if (job.Review is { } review && request?.Classes is { } classes && ClassMap.Check(classes, review.Classes) is { } bad)
            return TypedResults.Problem(bad, statusCode: 400, title: "The class map cannot be used");
        if (request?.Name is { Length: > 200 })
            return TypedResults.Problem("name: at most 200 characters.", statusCode: 400, title: "The name cannot be used");
        if (!job.Decide(new IngestDecision(true, request?.Name?.Trim(), request?.Classes)))
            return TypedResults.Problem($"The upload is {job.State.ToString().ToLowerInvariant()}, not awaiting a decision.", statusCode: 409,
                title: "Nothing to admit");
        return TypedResults.Accepted($"/api/uploads/{id}", UploadStatus.Of(job));
    }

    public static Results<Accepted<UploadStatus>, NotFound, ProblemHttpResult> Cancel(Guid id, HttpContext http, UploadTracker tracker)
    {
        if (tracker.Get(id, UserContext.From(http.User)) is not { } job) return TypedResults.NotFound();
        if (!job.Cancel())
            return TypedResults.Problem($"The upload has ended ({job.State.ToString().ToLowerInvariant()}).", statusCode: 409, title: "Nothing to cancel");
        return TypedResults.Accepted($"/api/uploads/{id}", UploadStatus.Of(job));
    }
}
