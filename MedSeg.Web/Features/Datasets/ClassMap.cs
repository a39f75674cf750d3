using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MedSeg.Web.Features.Datasets;

/// <summary>One class of a dataset: the label value its masks hold, a name and a display colour (<c>#rrggbb</c>).</summary>
public sealed record ClassEntry(int Value, string Name, string Colour);

/// <summary>
/// A dataset's class map (value, name, colour), background (value 0) first. The one place it is read from and written to
/// <see cref="MedSeg.Data.Entities.Dataset.ClassMapJson"/>, given defaults (names "label k", a fixed palette), and checked.
/// Overlays, legends, per-class metrics and exports all take their names and colours from here.
/// </summary>
public static partial class ClassMap
{
    /// <summary>Distinct colours for labels 1, 2, …: amber (the binary overlay's colour), then a categorical palette.</summary>
    public static readonly IReadOnlyList<string> Palette =
    [
        "#ffc400", "#00c853", "#2979ff", "#ff1744", "#d500f9", "#00e5ff", "#ff9100", "#76ff03",
        "#f50057", "#3d5afe", "#1de9b6", "#ffea00", "#c51162", "#6200ea", "#00b8d4", "#aeea00",
    ];

    public const string BackgroundColour = "#000000";

    /// <summary>The default colour of label <paramref name="value"/> (≥ 1).</summary>
    public static string DefaultColour(int value) => value <= 0 ? BackgroundColour : Palette[(value - 1) % Palette.Count];

    /// <summary>The default map of a dataset with <paramref name="classes"/> model classes (1 = binary: background and
    /// foreground), with names from <paramref name="names"/> (label → name, e.g. a dataset.json's <c>labels</c>) where given.</summary>
    public static IReadOnlyList<ClassEntry> Default(int classes, IReadOnlyDictionary<int, string>? names = null)
    {
        var count = classes <= 1 ? 2 : classes;
        return [.. Enumerable.Range(0, count).Select(v => new ClassEntry(v,
            names is not null && names.TryGetValue(v, out var n) && !string.IsNullOrWhiteSpace(n) ? n.Trim()
                : v == 0 ? "background" : classes <= 1 ? "foreground" : $"label {v}",
            DefaultColour(v)))];
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The stored map, or the default of <paramref name="classes"/> when none is stored (or it is unreadable).</summary>
    public static IReadOnlyList<ClassEntry> Parse(string? json, int classes)
    {
        if (string.IsNullOrWhiteSpace(json)) return Default(classes);
        try
        {
            var entries = JsonSerializer.Deserialize<List<ClassEntry>>(json, Json);
            return entries is { Count: > 0 } && Check(entries, classes) is null ? entries : Default(classes);
        }
        catch (JsonException)
        {
            return Default(classes);
        }
    }

    public static string Serialize(IReadOnlyList<ClassEntry> map) => JsonSerializer.Serialize(map, Json);

    /// <summary>Why <paramref name="map"/> cannot be the class map of a dataset with <paramref name="classes"/> model
    /// classes (naming the entry and what to do), or null: values 0 … K − 1 (0 and 1 for binary) each once, names non-empty
    /// and distinct (at most 100 characters), colours <c>#rrggbb</c>.</summary>
    public static string? Check(IReadOnlyList<ClassEntry> map, int classes)
    {
        var count = classes <= 1 ? 2 : classes;
        if (map.Count != count)
            return $"classes: the masks hold labels 0 … {count - 1}, so the class map needs {count} entries (background included); it has {map.Count}.";
        var values = map.Select(c => c.Value).Order().ToList();
        if (!values.SequenceEqual(Enumerable.Range(0, count)))
            return $"classes: the values must be 0 … {count - 1}, each once; got {string.Join(", ", map.Select(c => c.Value))}.";
        foreach (var c in map)
        {
            if (string.IsNullOrWhiteSpace(c.Name)) return $"classes: the class of value {c.Value} needs a name.";
            if (c.Name.Trim().Length > 100) return $"classes: the name of value {c.Value} is longer than 100 characters.";
            if (c.Colour is null || !ColourPattern().IsMatch(c.Colour))
                return $"classes: the colour of '{c.Name}' must be #rrggbb (e.g. #ffc400); got '{c.Colour}'.";
        }
        var duplicate = map.GroupBy(c => c.Name.Trim(), StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? null : $"classes: two classes are named '{duplicate.Key}'; give each its own name.";
    }

    /// <summary>The colour as (r, g, b) bytes.</summary>
    public static byte[] Rgb(string colour) =>
    [
        byte.Parse(colour.AsSpan(1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        byte.Parse(colour.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
        byte.Parse(colour.AsSpan(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
    ];

    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex ColourPattern();
}
