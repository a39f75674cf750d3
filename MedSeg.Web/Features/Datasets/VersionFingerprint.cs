using System.Text.Json;
using MedSeg.Data.Entities;
using MedSeg.Engine.Data.Pipeline;

namespace MedSeg.Web.Features.Datasets;

/// <summary>Smallest, median and largest of a set of values.</summary>
public sealed record Spread(double Min, double Median, double Max);

/// <summary>Cases in [<see cref="From"/>, <see cref="To"/>) (the last bin includes <see cref="To"/>).</summary>
public sealed record HistogramBin(double From, double To, int Count);

/// <summary>How many cases have exactly this size.</summary>
public sealed record SizeCount(int Width, int Height, int Cases);

/// <summary>Pixel spacing in mm of the cases that state one (DICOM, NIfTI slices).</summary>
public sealed record SpacingSummary(int Cases, Spread X, Spread Y);

/// <summary>Intensity statistics of one channel over a set of pixels, in stored values (HU for rescaled CT).</summary>
public sealed record IntensityStats(double Mean, double Std, double Percentile005, double Percentile995, double Min, double Max);

/// <summary>One channel's statistics over all pixels and over foreground (null when no sampled case has foreground).</summary>
public sealed record ChannelIntensity(int Channel, IntensityStats All, IntensityStats? Foreground);

/// <summary>A class: its share of all pixels and how many cases contain it.</summary>
public sealed record ClassBalance(int Value, double PixelShare, int Cases);

/// <summary>Cases per group (<see cref="DatasetCase.GroupKey"/>: patient or volume); cases without a key are counted in
/// <see cref="Ungrouped"/> and each counts as its own group.</summary>
public sealed record GroupSummary(int Groups, int Ungrouped, Spread CasesPerGroup, IReadOnlyList<HistogramBin> Histogram);

/// <summary>
/// The fingerprint of one dataset version, stored as JSON in <see cref="DatasetVersion.FingerprintJson"/> (written and read
/// only by <see cref="Serialize"/> and <see cref="Parse"/>). Sizes, spacing, empty masks, cases per class and per group are
/// exact, from every case's row; intensities (and, for label maps, the pixel share per class) are measured on
/// <see cref="SampledCases"/> cases spread evenly over the names (all of them up to <see cref="FingerprintService.MaxSampledCases"/>).
/// </summary>
public sealed record VersionFingerprint(
    int Version,
    int Cases,
    int SampledCases,
    DateTimeOffset ComputedAt,
    Spread Width,
    Spread Height,
    Spread AspectRatio,
    IReadOnlyList<HistogramBin> SizeHistogram,
    IReadOnlyList<SizeCount> CommonSizes,
    SpacingSummary? Spacing,
    int Channels,
    bool SixteenBitOrMore,
    IReadOnlyList<ChannelIntensity> Intensity,
    IReadOnlyList<ClassBalance> Classes,
    int EmptyMasks,
    GroupSummary Groups)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    /// <summary>The stored fingerprint, or null when none is stored or it cannot be read (it is then computed again).</summary>
    public static VersionFingerprint? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try
        {
            return JsonSerializer.Deserialize<VersionFingerprint>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The fingerprint of a version from its cases' rows and the engine's measurement of a sample of them
    /// (<paramref name="measured"/>, over <paramref name="sampled"/> cases). <paramref name="classes"/>: 1 binary, K ≥ 3 label map.
    /// </summary>
    public static VersionFingerprint Build(int version, IReadOnlyList<DatasetCase> cases, DatasetFingerprint measured, int sampled, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(cases.Count);
        var sides = cases.Select(c => Math.Sqrt((double)c.Width * c.Height)).ToList();
        var common = cases.GroupBy(c => (c.Width, c.Height)).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key.Width)
            .Take(5).Select(g => new SizeCount(g.Key.Width, g.Key.Height, g.Count())).ToList();
        var spaced = cases.Where(c => c.SpacingX is > 0 && c.SpacingY is > 0).ToList();
        var spacing = spaced.Count == 0 ? null
            : new SpacingSummary(spaced.Count, SpreadOf(spaced.Select(c => c.SpacingX!.Value)), SpreadOf(spaced.Select(c => c.SpacingY!.Value)));

        var intensity = measured.Intensity.Select(c => new ChannelIntensity(c.Channel,
            new IntensityStats(c.Mean, c.Std, c.Percentile005, c.Percentile995, c.Min, c.Max),
            double.IsFinite(c.ForegroundMean)
                ? new IntensityStats(c.ForegroundMean, c.ForegroundStd, c.ForegroundPercentile005, c.ForegroundPercentile995, c.ForegroundMin, c.ForegroundMax)
                : null)).ToList();

        // Binary: the pixel share is exact from each case's foreground fraction; label maps: measured on the sample.
        var count = classes <= 1 ? 2 : classes;
        var pixels = cases.Sum(c => (double)c.Width * c.Height);
        var foreground = cases.Sum(c => c.ForegroundFraction * c.Width * c.Height) / Math.Max(1, pixels);
        var balance = Enumerable.Range(0, count).Select(v => new ClassBalance(v,
            classes <= 1 ? (v == 0 ? 1 - foreground : foreground) : v < measured.LabelPixelShare.Count ? measured.LabelPixelShare[v] : 0,
            cases.Count(c => (c.LabelsPresent & (1 << v)) != 0))).ToList();

        var groups = cases.Where(c => !string.IsNullOrEmpty(c.GroupKey)).GroupBy(c => c.GroupKey!, StringComparer.Ordinal).Select(g => g.Count()).ToList();
        var ungrouped = cases.Count(c => string.IsNullOrEmpty(c.GroupKey));
        var perGroup = groups.Concat(Enumerable.Repeat(1, ungrouped)).Select(n => (double)n).ToList();

        return new VersionFingerprint(version, cases.Count, sampled, DateTimeOffset.UtcNow,
            SpreadOf(cases.Select(c => (double)c.Width)), SpreadOf(cases.Select(c => (double)c.Height)),
            SpreadOf(cases.Select(c => (double)c.Width / Math.Max(1, c.Height))),
            Histogram(sides, 10, integer: true), common, spacing, measured.Channels, measured.SixteenBitOrMore, intensity, balance,
            cases.Count(c => c.ForegroundFraction <= 0),
            new GroupSummary(groups.Count + ungrouped, ungrouped, SpreadOf(perGroup), Histogram(perGroup, 10, integer: true)));
    }

    internal static Spread SpreadOf(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? new Spread(0, 0, 0) : new Spread(v[0], v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2, v[^1]);
    }

    /// <summary>Equal-width bins from the smallest to the largest value (one bin per value when integers span fewer than
    /// <paramref name="bins"/>); the last bin includes its upper edge.</summary>
    internal static IReadOnlyList<HistogramBin> Histogram(IReadOnlyList<double> values, int bins, bool integer)
    {
        if (values.Count == 0) return [];
        var (lo, hi) = (values.Min(), values.Max());
        if (integer)
        {
            (lo, hi) = (Math.Floor(lo), Math.Ceiling(hi));
            if (hi - lo + 1 <= bins)
                return [.. Enumerable.Range(0, (int)(hi - lo) + 1).Select(i => new HistogramBin(lo + i, lo + i + 1, values.Count(v => Math.Round(v) == lo + i)))];
        }
        if (hi <= lo) return [new HistogramBin(lo, hi, values.Count)];
        var width = (hi - lo) / bins;
        if (integer) width = Math.Ceiling(width);
        var counts = new int[bins];
        foreach (var v in values) counts[Math.Min(bins - 1, (int)((v - lo) / width))]++;
        return [.. counts.Select((c, i) => new HistogramBin(lo + i * width, Math.Min(hi, lo + (i + 1) * width), c))];
    }
}
