using System.Globalization;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Shared;
using Microsoft.AspNetCore.Components;

namespace MedSeg.Web.Features.Datasets.Pages;

/// <summary>Shows a version's fingerprint with small SVG charts; class names and colours from the dataset's class map.</summary>
public sealed partial class FingerprintView
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Parameter, EditorRequired] public VersionFingerprint? Fingerprint { get; set; }
    [Parameter, EditorRequired] public IReadOnlyList<ClassEntry> ClassMap { get; set; } = [];
    [Parameter] public int Version { get; set; } = 1;
    /// <summary>The fingerprint is being computed (shown while <see cref="Fingerprint"/> is null).</summary>
    [Parameter] public bool Loading { get; set; }

    private static string N(double v) => v.ToString("0.##", Inv);

    private static string Sampling(VersionFingerprint f) => f.SampledCases >= f.Cases
        ? $"All {f.Cases} cases measured."
        : $"Sizes, spacing, empty masks, classes per case and groups over all {f.Cases} cases; intensities{(f.Classes.Count > 2 ? " and pixel shares" : "")} " +
          $"measured on {f.SampledCases} cases spread evenly over the names.";

    private static string SpacingText(VersionFingerprint f) => f.Spacing is { } s
        ? $"{N(s.X.Median)} × {N(s.Y.Median)}" + (s.X.Min != s.X.Max || s.Y.Min != s.Y.Max ? $" (X {N(s.X.Min)}–{N(s.X.Max)}, Y {N(s.Y.Min)}–{N(s.Y.Max)})" : "") +
          (s.Cases < f.Cases ? $", {s.Cases} of {f.Cases} cases" : "")
        : "not stated (pixels)";

    private static string GroupsText(VersionFingerprint f) => f.Groups.Ungrouped == f.Cases
        ? "none (each case its own)"
        : $"{f.Groups.Groups}, {N(f.Groups.CasesPerGroup.Min)}–{N(f.Groups.CasesPerGroup.Max)} cases each" +
          (f.Groups.Ungrouped > 0 ? $"; {f.Groups.Ungrouped} without a group" : "");

    private static bool IsHounsfield(VersionFingerprint f) =>
        f.Channels == 1 && f.SixteenBitOrMore && f.Intensity.Count > 0 && f.Intensity[0].All.Min < LaunchSuggestions.HounsfieldAir;

    private static string Bin(HistogramBin b) => b.To - b.From <= 1 ? N(b.From) : $"{N(b.From)}–{N(b.To)}";

    private static IReadOnlyList<BarChart.Bar> SizeBars(VersionFingerprint f) =>
        [.. f.SizeHistogram.Select(b => new BarChart.Bar(Bin(b), b.Count, $"{b.Count} case{(b.Count == 1 ? "" : "s")}"))];

    private static IReadOnlyList<BarChart.Bar> GroupBars(VersionFingerprint f) =>
        [.. f.Groups.Histogram.Select(b => new BarChart.Bar(Bin(b) + " cases", b.Count, $"{b.Count} group{(b.Count == 1 ? "" : "s")}"))];

    private ClassEntry? Class(int value) => ClassMap.FirstOrDefault(c => c.Value == value);

    private IReadOnlyList<BarChart.Bar> ClassBars(VersionFingerprint f) =>
        [.. f.Classes.Select(c => new BarChart.Bar(Class(c.Value)?.Name ?? $"label {c.Value}", c.PixelShare, Format.Percent(c.PixelShare), Class(c.Value)?.Colour))];

    private IReadOnlyList<BarChart.Bar> ClassCaseBars(VersionFingerprint f) =>
        [.. f.Classes.Select(c => new BarChart.Bar(Class(c.Value)?.Name ?? $"label {c.Value}", c.Cases, $"{c.Cases} of {f.Cases}", Class(c.Value)?.Colour))];
}
