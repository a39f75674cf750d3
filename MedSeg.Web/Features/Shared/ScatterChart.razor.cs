using System.Globalization;
using Microsoft.AspNetCore.Components;

namespace MedSeg.Web.Features.Shared;

public sealed partial class ScatterChart
{
    private const double Width = 520, Height = 260, Left = 58, Right = 60, Top = 14, Bottom = 36;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    [Parameter, EditorRequired] public string Title { get; set; } = "";
    [Parameter, EditorRequired] public IReadOnlyList<ScatterPoint> Points { get; set; } = [];
    [Parameter] public string XLabel { get; set; } = "";
    [Parameter] public string YLabel { get; set; } = "";
    /// <summary>Fixed y range (e.g. 0–1 for Dice); when null, 0 to a rounded maximum of the data. The x axis starts at 0.</summary>
    [Parameter] public double? YMin { get; set; }
    [Parameter] public double? YMax { get; set; }
    [Parameter] public string XFormat { get; set; } = "0.##";
    [Parameter] public string YFormat { get; set; } = "0.##";
    [Parameter] public string XValueFormat { get; set; } = "0.00";
    [Parameter] public string YValueFormat { get; set; } = "0.000";
    [Parameter] public string EmptyText { get; set; } = "No data yet.";
    [Parameter] public string? TestId { get; set; }

    private double x1, y0, y1;
    private List<double> xTicks = [], yTicks = [];

    private List<ScatterPoint> Drawn { get; set; } = [];

    protected override void OnParametersSet()
    {
        Drawn = [.. Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))];
        var xStep = LineChart.NiceStep((Drawn.Count > 0 ? Drawn.Max(p => p.X) : 1) / 5);
        x1 = Math.Max(xStep, Math.Ceiling((Drawn.Count > 0 ? Drawn.Max(p => p.X) : 1) / xStep - 1e-9) * xStep);
        y0 = YMin ?? Math.Min(0, Drawn.Count > 0 ? Drawn.Min(p => p.Y) : 0);
        var top = YMax ?? (Drawn.Count > 0 ? Drawn.Max(p => p.Y) : 1);
        var yStep = LineChart.NiceStep((top - y0) / 5);
        y1 = YMax ?? Math.Max(y0 + yStep, Math.Ceiling(top / yStep - 1e-9) * yStep);
        xTicks = Ticks(0, x1, xStep);
        yTicks = Ticks(y0, y1, yStep);
    }

    private static List<double> Ticks(double from, double to, double step)
    {
        var ticks = new List<double>();
        for (var t = from; t <= to + step / 1000; t += step) ticks.Add(Math.Round(t, 10));
        return ticks;
    }

    private double ScaleX(double x) => Left + Math.Clamp(x, 0, x1) / x1 * (Width - Left - Right);

    private double ScaleY(double y) => Height - Bottom - (Math.Clamp(y, y0, y1) - y0) / (y1 - y0) * (Height - Top - Bottom);

    private string Tip(ScatterPoint p) =>
        $"{p.Label}: {XLabel.ToLowerInvariant()} {p.X.ToString(XValueFormat, Inv)}, {YLabel.ToLowerInvariant()} {p.Y.ToString(YValueFormat, Inv)}";

    private static string F(double v) => v.ToString("0.#", Inv);
}
