namespace MedSeg.Engine.Training;

/// <summary>
/// The one train/validation split rule (web and CLI): sort the case names ordinally, shuffle with
/// <c>new Random(seed)</c>, the first round(n × fraction) cases (at least 1, at most n − 1) are validation.
/// </summary>
public static class DatasetSplit
{
    public const double DefaultValidationFraction = 0.2;

    public static (IReadOnlyList<string> Train, IReadOnlyList<string> Validation) Split(IEnumerable<string> names, int seed,
        double fraction = DefaultValidationFraction)
    {
        var (train, validation) = Split(names, n => n, seed, fraction);
        return (train, validation);
    }

    /// <summary>Splits any items by their name (names must be distinct); same rule as <see cref="Split(IEnumerable{string}, int, double)"/>.</summary>
    public static (IReadOnlyList<T> Train, IReadOnlyList<T> Validation) Split<T>(IEnumerable<T> items, Func<T, string> name, int seed,
        double fraction = DefaultValidationFraction)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), $"The validation fraction must be between 0 and 1 (exclusive); got {fraction}.");
        var ordered = items.OrderBy(name, StringComparer.Ordinal).ToArray();
        if (ordered.Length < 2)
            throw new ArgumentException($"Splitting needs at least 2 cases (one to train, one to validate); got {ordered.Length}.", nameof(items));
        new Random(seed).Shuffle(ordered);
        var validationCount = Math.Clamp((int)Math.Round(ordered.Length * fraction), 1, ordered.Length - 1);
        return ([.. ordered.Skip(validationCount)], [.. ordered.Take(validationCount)]);
    }
}
