using System.Globalization;
using Bunit;
using MedSeg.Web.Features.Shared;

namespace MedSeg.Web.Tests.Web;

public class ScatterChartTests
{
    private static (double X, double Y) Centre(AngleSharp.Dom.IElement point)
    {
        var circle = point.QuerySelector("circle")!;
        return (double.Parse(circle.GetAttribute("cx")!, CultureInfo.InvariantCulture), double.Parse(circle.GetAttribute("cy")!, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task ScatterChartPlacesFasterPointsLeftAndBetterPointsHigherAndLinksThem()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<ScatterChart>(p => p
            .Add(x => x.Title, "Dice against latency")
            .Add(x => x.XLabel, "Latency (ms)").Add(x => x.YLabel, "Dice")
            .Add(x => x.YMin, 0).Add(x => x.YMax, 1)
            .Add(x => x.Points, [
                new ScatterPoint("slow-good", 40, 0.9, "#000", "/experiments/a"),
                new ScatterPoint("fast-poor", 5, 0.4, "#111"),
                new ScatterPoint("unmeasured", double.NaN, 0.5, "#222"),
            ]));

        var points = cut.FindAll(".scatter-point");
        Assert.Equal(["slow-good", "fast-poor"], points.Select(p => p.GetAttribute("data-label")));
        var (slow, fast) = (Centre(points[0]), Centre(points[1]));
        Assert.True(fast.X < slow.X);
        Assert.True(slow.Y < fast.Y); // SVG y grows downwards: the better Dice is drawn higher.
        Assert.Equal("/experiments/a", points[0].QuerySelector("a")!.GetAttribute("href"));
        Assert.Null(points[1].QuerySelector("a"));
        Assert.Contains("slow-good: latency (ms) 40.00, dice 0.900", points[0].QuerySelector("title")!.TextContent);
        // x from 0 to a rounded maximum (40 → ticks 0, 10, … 40).
        Assert.Equal(["0", "10", "20", "30", "40"], cut.FindAll("text.tick").Select(t => t.TextContent).Skip(6).Take(5));
    }

    [Fact]
    public async Task ScatterChartWithoutPointsSaysSo()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<ScatterChart>(p => p.Add(x => x.Title, "t").Add(x => x.Points, []).Add(x => x.EmptyText, "Points appear as runs complete."));
        Assert.Empty(cut.FindAll(".scatter-point"));
        Assert.Equal("Points appear as runs complete.", cut.Find("text.empty").TextContent);
    }
}
