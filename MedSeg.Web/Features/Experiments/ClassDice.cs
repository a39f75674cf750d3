using System.Text.Json;

namespace MedSeg.Web.Features.Experiments;

/// <summary>The per-class Dice columns (<c>EpochMetric.ClassDiceJson</c>, <c>ExperimentCase.ClassDiceJson</c>): a JSON array of
/// the Dice of each foreground class 1 … K − 1, index 0 = class 1; null for binary runs. The one place they are read and written.</summary>
public static class ClassDice
{
    public static string? Serialize(IReadOnlyList<double>? dice) =>
        dice is null ? null : JsonSerializer.Serialize(dice.Select(d => double.IsFinite(d) ? d : (double?)null));

    /// <summary>An epoch's per-class means (an unreadable or null entry reads as 0).</summary>
    public static IReadOnlyList<double>? Parse(string? json) => ParseNullable(json)?.Select(d => d ?? 0).ToList();

    /// <summary>A case's per-class Dice, null entries kept (the class is absent from both masks, when the engine says so).</summary>
    public static IReadOnlyList<double?>? ParseNullable(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try
        {
            return JsonSerializer.Deserialize<List<double?>>(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
