namespace MedSeg.Engine.Models.Blocks;

/// <summary>A zoo model built from one of several named variants (<see cref="ModelOptions.Variant"/>).</summary>
public interface IVariantModel
{
    /// <summary>The variant this instance was built with (the default when <see cref="ModelOptions.Variant"/> is null).</summary>
    string Variant { get; }

    /// <summary>Every variant the architecture accepts, the default first.</summary>
    IReadOnlyList<string> AvailableVariants { get; }
}

/// <summary>Resolves <see cref="ModelOptions.Variant"/> against an architecture's list of valid variants.</summary>
public static class ModelVariants
{
    /// <summary>Returns the canonical variant name (case-insensitive match; null or empty = <paramref name="valid"/>[0]),
    /// or throws an <see cref="ArgumentException"/> listing the valid variants.</summary>
    public static string Resolve(string model, string? requested, IReadOnlyList<string> valid)
    {
        if (string.IsNullOrWhiteSpace(requested)) return valid[0];
        foreach (var v in valid)
            if (string.Equals(v, requested.Trim(), StringComparison.OrdinalIgnoreCase)) return v;
        throw new ArgumentException(
            $"Unknown variant '{requested}' for {model}. Valid variants: {string.Join(", ", valid)} (default {valid[0]}).",
            nameof(requested));
    }
}
