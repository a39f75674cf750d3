using System.Text.Json;
using MedSeg.Engine.Inference;

namespace MedSeg.Web.Features.Experiments;

/// <summary>The per-class metric rows of an evaluated case (<c>ExperimentCase.ClassMetricsJson</c>): a JSON array of
/// <see cref="ClassCaseScore"/>, one per foreground class. The one place they are read and written.</summary>
public static class ClassMetrics
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string? Serialize(IReadOnlyList<ClassCaseScore>? rows) =>
        rows is null or { Count: 0 } ? null : JsonSerializer.Serialize(rows, Json);

    /// <summary>The rows, or an empty list for cases evaluated before per-class metrics were stored (or unreadable JSON).</summary>
    public static IReadOnlyList<ClassCaseScore> Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return [];
        try
        {
            return JsonSerializer.Deserialize<List<ClassCaseScore>>(json, Json) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
