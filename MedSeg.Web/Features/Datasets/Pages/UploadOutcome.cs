using System.Text.Json;
using MedSeg.Engine.Data;

namespace MedSeg.Web.Features.Datasets.Pages;

/// <summary>What the browser's <c>medseg.upload</c> resolves with.</summary>
public sealed record UploadResponse(int Status, string? StatusText, string? Body);

/// <summary>What <c>medseg.zipInfo</c> says about the chosen file; <c>Files</c> is null when the zip could not be read.</summary>
public sealed record ZipInfo(string Name, long Size, int? Files);

/// <summary>How an upload ended, read from the HTTP answer of <c>POST /api/datasets</c>.</summary>
public abstract record UploadOutcome
{
    public sealed record Created(Guid Id, int Cases) : UploadOutcome;

    public sealed record Rejected(string Title, IReadOnlyList<DatasetProblem> Problems) : UploadOutcome;

    public sealed record Failed(string Message) : UploadOutcome;

    public static UploadOutcome From(UploadResponse response)
    {
        using var json = TryParse(response.Body);
        var root = json?.RootElement;
        if (response.Status == 201)
        {
            if (root is { ValueKind: JsonValueKind.Object } created
                && Property(created, "id") is { ValueKind: JsonValueKind.String } id && Guid.TryParse(id.GetString(), out var datasetId))
            {
                var cases = Property(created, "cases") is { ValueKind: JsonValueKind.Number } n && n.TryGetInt32(out var c) ? c : 0;
                return new Created(datasetId, cases);
            }
            return new Failed("The dataset was stored, but the server's answer could not be read. Find it in the list below.");
        }

        var title = root is { ValueKind: JsonValueKind.Object } o ? Text(o, "title") : null;
        var detail = root is { ValueKind: JsonValueKind.Object } d ? Text(d, "detail") : null;
        if (response.Status is 400 or 413 && root is { ValueKind: JsonValueKind.Object } body
            && Property(body, "errors") is { } errors && ReadProblems(errors) is { Count: > 0 } problems)
        {
            return new Rejected(title ?? "The upload was refused; nothing was stored.", problems);
        }
        if (title is not null)
        {
            return new Failed(detail is null ? title : $"{title}: {detail}");
        }
        return new Failed(response.Status switch
        {
            413 => "The file is larger than the server accepts (HTTP 413). Split the dataset or ask the administrator to raise the upload limit.",
            401 or 403 => $"The server refused the upload (HTTP {response.Status}). Your session may have expired: reload the page and sign in again.",
            >= 200 and < 300 => $"The server gave an unexpected answer (HTTP {response.Status}). Your session may have expired: reload the page and sign in again.",
            0 => "No answer came back from the server.",
            _ => $"The upload failed: HTTP {response.Status}{(string.IsNullOrWhiteSpace(response.StatusText) ? "" : " " + response.StatusText)}.",
        });
    }

    private static List<DatasetProblem> ReadProblems(JsonElement errors)
    {
        var problems = new List<DatasetProblem>();
        if (errors.ValueKind == JsonValueKind.Array)
        {
            // UploadRejected: [{ file, problem }]
            foreach (var e in errors.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object) continue;
                var problem = Text(e, "problem");
                if (problem is not null) problems.Add(new DatasetProblem(Text(e, "file") ?? "", problem));
            }
        }
        else if (errors.ValueKind == JsonValueKind.Object)
        {
            // ValidationProblemDetails: { field: [messages] }
            foreach (var field in errors.EnumerateObject())
            {
                if (field.Value.ValueKind != JsonValueKind.Array) continue;
                foreach (var message in field.Value.EnumerateArray())
                {
                    if (message.ValueKind == JsonValueKind.String) problems.Add(new DatasetProblem(field.Name, message.GetString()!));
                }
            }
        }
        return problems;
    }

    private static JsonDocument? TryParse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonElement? Property(JsonElement obj, string name)
    {
        foreach (var p in obj.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        }
        return null;
    }

    private static string? Text(JsonElement obj, string name) =>
        Property(obj, name) is { ValueKind: JsonValueKind.String } v && !string.IsNullOrWhiteSpace(v.GetString()) ? v.GetString() : null;
}
