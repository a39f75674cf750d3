using System.Globalization;

namespace MedSeg.Web.Features.Shared;

/// <summary>How numbers, sizes and dates are shown across the UI (invariant culture, so pages read the same everywhere).</summary>
public static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A fraction in [0, 1] as a percentage, e.g. 0.1234 → "12.3 %".</summary>
    public static string Percent(double fraction, int decimals = 1) =>
        (fraction * 100).ToString("F" + decimals, Inv) + " %";

    /// <summary>A metric in [0, 1] with three decimals, or an em dash when there is none.</summary>
    public static string Metric(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("F3", Inv) : "—";

    public static string Loss(double value) => double.IsFinite(value) ? value.ToString("F4", Inv) : "—";

    public static string LearningRate(double value) => value.ToString("G3", Inv);

    public static string Seconds(double seconds) =>
        seconds < 60 ? seconds.ToString("F1", Inv) + " s" : TimeSpan.FromSeconds(seconds).ToString(seconds < 3600 ? @"m\:ss" : @"h\:mm\:ss", Inv);

    /// <summary>An option value such as a weight decay or a norm: 4 significant digits, "3e-05" for small ones.</summary>
    public static string Number(double value) => value.ToString("G4", Inv).ToLowerInvariant();

    /// <summary>A duration given in hours, in its largest whole unit: "2 h", "1.5 h", "45 min", "20 s".</summary>
    public static string Hours(double hours) =>
        hours >= 1 ? hours.ToString("0.##", Inv) + " h"
        : hours * 60 >= 1 ? (hours * 60).ToString("0.#", Inv) + " min"
        : (hours * 3600).ToString("0.#", Inv) + " s";

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => (bytes / 1024.0).ToString("F1", Inv) + " KB",
        < 1024L * 1024 * 1024 => (bytes / 1024.0 / 1024).ToString("F1", Inv) + " MB",
        _ => (bytes / 1024.0 / 1024 / 1024).ToString("F2", Inv) + " GB",
    };

    /// <summary>"512 × 512", or ranges "574–1920 × 332–1072" when sizes vary.</summary>
    public static string SizeRange(int minWidth, int maxWidth, int minHeight, int maxHeight) =>
        $"{Range(minWidth, maxWidth)} × {Range(minHeight, maxHeight)}";

    public static string Date(DateTimeOffset when) => when.UtcDateTime.ToString("yyyy-MM-dd HH:mm", Inv);

    private static string Range(int min, int max) => min == max ? min.ToString(Inv) : $"{min.ToString(Inv)}–{max.ToString(Inv)}";
}
