using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace MedSeg.Web.Features.Shared;

/// <summary>One file part of a multipart upload, on disk under the upload's staging folder.</summary>
/// <param name="FileName">The name the client gave (for messages and for naming what it holds), not the path on disk.</param>
public sealed record StagedFile(string Field, string FileName, string Path, long Length);

/// <summary>
/// A multipart upload streamed once, straight from the request body into its own staging folder: no
/// <see cref="IFormFile"/> buffering, no second copy. Text fields are read up to <see cref="MaxFieldChars"/>. Disposing
/// removes the folder, with whatever the feature unpacked or laid out beside the received files.
/// </summary>
public sealed class StagedUpload : IDisposable
{
    public const int MaxFieldChars = 4096;
    private readonly ILogger logger;

    private StagedUpload(string directory, ILogger logger)
    {
        Directory = directory;
        this.logger = logger;
    }

    /// <summary>The staging folder; received files are in its <c>received/</c> subfolder.</summary>
    public string Directory { get; }

    public Dictionary<string, string> Fields { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<StagedFile> Files { get; } = [];

    public string? Field(string name) => Fields.TryGetValue(name, out var v) ? v : null;

    /// <summary>
    /// Streams the request's multipart body into a new staging folder. Refusals (not multipart, malformed, larger than the
    /// endpoint's body limit, a text field too long, too many parts) come back as RFC 7807 problems and leave nothing behind.
    /// </summary>
    /// <param name="expected">What the endpoint wants, for the "not a multipart form" refusal.</param>
    public static async Task<(StagedUpload? Upload, ProblemHttpResult? Refusal)> ReceiveAsync(HttpRequest request, ArtifactStore store,
        LimitsOptions limits, string expected, CancellationToken ct)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !string.Equals(type.MediaType.Value, "multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 and <= 200 } boundary)
        {
            return (null, TypedResults.Problem(expected, statusCode: StatusCodes.Status400BadRequest, title: "No file was uploaded"));
        }

        var logger = request.HttpContext.RequestServices.GetRequiredService<ILogger<StagedUpload>>();
        var upload = new StagedUpload(store.CreateStagingDirectory(), logger);
        var received = System.IO.Path.Combine(upload.Directory, "received");
        System.IO.Directory.CreateDirectory(received);
        var current = "(upload)";
        try
        {
            var reader = new MultipartReader(boundary, request.Body);
            var parts = 0;
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (++parts > limits.MaxZipEntries)
                {
                    upload.Dispose();
                    return (null, UploadRefusal.Problem([new DatasetProblem("(upload)",
                        $"the form has more than {limits.MaxZipEntries} parts (MedSeg:Limits:MaxZipEntries); send the files as one .zip instead.")]));
                }
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                var field = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                if (disposition.IsFileDisposition())
                {
                    var name = disposition.FileNameStar.HasValue ? disposition.FileNameStar.Value : HeaderUtilities.RemoveQuotes(disposition.FileName).Value;
                    current = System.IO.Path.GetFileName((name ?? "").Replace('\\', '/'));
                    var path = System.IO.Path.Combine(received, $"{upload.Files.Count:D6}.part");
                    await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
                    {
                        await section.Body.CopyToAsync(output, ct);
                        upload.Files.Add(new StagedFile(field, current, path, output.Length));
                    }
                    current = "(upload)";
                }
                else
                {
                    using var text = new StreamReader(section.Body);
                    var buffer = new char[MaxFieldChars + 1];
                    var length = await text.ReadBlockAsync(buffer, ct);
                    if (length > MaxFieldChars)
                    {
                        upload.Dispose();
                        return (null, UploadRefusal.Problem([new DatasetProblem(field, $"the form field '{field}' is longer than {MaxFieldChars} characters.")]));
                    }
                    upload.Fields[field] = new string(buffer, 0, length);
                }
            }
            return (upload, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            upload.Dispose();
            return (null, UploadRefusal.Problem([new DatasetProblem(current, RequestLimits.UploadTooLarge(limits))],
                StatusCodes.Status413PayloadTooLarge));
        }
        catch (InvalidDataException e)
        {
            upload.Dispose();
            return (null, UploadRefusal.Problem([new DatasetProblem(current, $"the multipart form is malformed ({e.Message}); send it again.")]));
        }
        catch
        {
            upload.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete {Dir}; it is removed at the next start", Directory);
        }
    }
}

/// <summary>The one refusal style of uploads: RFC 7807 with one entry per problem file, <c>{"title", "errors": [{"file", "problem"}]}</c>.</summary>
public static class UploadRefusal
{
    /// <param name="reportUrl">Where the report can be fetched as CSV (for an hour), or null.</param>
    public static ProblemHttpResult Problem(IReadOnlyList<DatasetProblem> problems, int status = StatusCodes.Status400BadRequest, string? reportUrl = null)
    {
        var details = new ProblemDetails
        {
            Status = status,
            Title = $"The upload was refused: {problems.Count} problem(s); nothing was stored.",
            Detail = "Fix the files listed in 'errors' and upload again, or send admit=valid to store the valid cases without the bad ones.",
            Extensions = { ["errors"] = problems },
        };
        if (reportUrl is not null) details.Extensions["report"] = reportUrl;
        return TypedResults.Problem(details);
    }
}
