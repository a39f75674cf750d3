using System.Globalization;
using Microsoft.AspNetCore.Components;

namespace MedSeg.Web.Features.Shared;

public sealed partial class LineChart
{
    private const double Width = 520, Height = 230, Left = 46, Right = 14, Top = 10, Bottom = 36;
    private const int MaxMarkers = 60;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Parameter, EditorRequired] public string Title { get; set; } = "";
    [Parameter, EditorRequired] public IReadOnlyList<LineSeries> Series { get; set; } = [];

    /// <summary>The x axis spans <see cref="XMin"/> to at least this (for epochs: the planned number, so the chart does not rescale as it grows).</summary>
    [Parameter] public double XMax { get; set; }
    /// <summary>Where the x axis starts: 1 for epochs, 0 for wall time.</summary>
    [Parameter] public double XMin { get; set; } = 1;
    /// <summary>Whole-number x ticks (epochs); false for a continuous x (wall time).</summary>
    [Parameter] public bool IntegerX { get; set; } = true;
    [Parameter] public string XFormat { get; set; } = "0.##";
    [Parameter] public string XLabel { get; set; } = "Epoch";

    /// <summary>Fixed y range (e.g. 0–1 for Dice); when null the range is 0 to a rounded maximum of the data.</summary>
    [Parameter] public double? YMin { get; set; }
    [Parameter] public double? YMax { get; set; }
    [Parameter] public string YFormat { get; set; } = "0.##";
    [Parameter] public string ValueFormat { get; set; } = "0.0000";
    [Parameter] public string EmptyText { get; set; } = "No data yet.";
    [Parameter] public string? TestId { get; set; }

    private double x0, x1, y0, y1;
    private List<double> yTicks = [];
    private List<double> xTicks = [];

    protected override void OnParametersSet()
    {
        var points = Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Y)).ToList();
        x0 = XMin;
        x1 = Math.Max(XMax, points.Count > 0 ? points.Max(p => p.X) : x0);
        if (x1 <= x0) x1 = x0 + 1;
        y0 = YMin ?? Math.Min(0, points.Count > 0 ? points.Min(p => p.Y) : 0);
        var top = YMax ?? (points.Count > 0 ? points.Max(p => p.Y) : 1);
        var step = NiceStep((top - y0) / 5);
        y1 = YMax ?? Math.Max(y0 + step, Math.Ceiling(top / step - 1e-9) * step);
        yTicks = [];
        for (var t = y0; t <= y1 + step / 1000; t += step) yTicks.Add(Math.Round(t, 10));
        var xStep = IntegerX ? Math.Max(1, (int)NiceStep((x1 - x0) / 8)) : NiceStep((x1 - x0) / 8);
        // The start, then multiples of the step (1, 5, 10, 15 rather than 1, 6, 11, 16).
        xTicks = [x0];
        for (var i = Math.Ceiling(x0 / xStep); i * xStep <= x1 + xStep / 1000; i++)
            if (i * xStep > x0) xTicks.Add(Math.Round(i * xStep, 10));
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="raw"/>.</summary>
    internal static double NiceStep(double raw)
    {
        if (!(raw > 0) || !double.IsFinite(raw)) return 1;
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var fraction = raw / power;
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
    }

    private double ScaleX(double x) => Left + (x - x0) / (x1 - x0) * (Width - Left - Right);

    private double ScaleY(double y) => Height - Bottom - (Math.Clamp(y, y0, y1) - y0) / (y1 - y0) * (Height - Top - Bottom);

    private string Polyline(LineSeries s) =>
        string.Join(' ', s.Points.Where(p => double.IsFinite(p.Y)).Select(p => $"{F(ScaleX(p.X))},{F(ScaleY(p.Y))}"));

    private static string F(double v) => v.ToString("0.#", Inv);
}
