using Bunit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;

namespace MedSeg.Web.Tests.Web;

/// <summary>The live page's chart and epoch table, and the review's table and summary, per class in the class colours.</summary>
public sealed class MultiClassComponentTests
{
    private static readonly ClassEntry[] Classes =
        [new(0, "background", "#000000"), new(1, "benign", "#123456"), new(2, "malignant", "#abcdef")];

    private static readonly EpochPoint[] Points =
        [new(1, 0.9, 0.8, 0.5, 0.4, 1e-3, 1, [0.6, 0.4]), new(2, 0.7, 0.6, 0.65, 0.5, 1e-3, 1, [0.8, 0.5])];

    private static CaseResultView Case(string name, double dice, double c1, double c2) =>
        new(Guid.NewGuid(), name, dice, dice, 0.9, 0.8, "/i", "/t", "/p", "/c", [c1, c2]);

    private static readonly CaseResultView[] Cases = [Case("a", 0.3, 0.2, 0.4), Case("b", 0.9, 1.0, 0.8)];

    [Fact]
    public async Task MultiClassChartDrawsOneLinePerClassInItsColour()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<MetricsChart>(p => p.Add(x => x.Points, Points).Add(x => x.Epochs, 2).Add(x => x.Classes, Classes));
        var lines = cut.FindAll("[data-testid=chart-class-dice] polyline.series");
        Assert.Equal(["benign", "malignant"], lines.Select(l => l.GetAttribute("data-series")));
        Assert.Equal(["#123456", "#abcdef"], lines.Select(l => l.GetAttribute("stroke")));

        var binary = ctx.Render<MetricsChart>(p => p.Add(x => x.Points, [Points[0] with { ClassDice = null }]).Add(x => x.Epochs, 2)
            .Add(x => x.Classes, ClassMap.Default(1)));
        Assert.Empty(binary.FindAll("[data-testid=chart-class-dice]"));
    }

    [Fact]
    public async Task MultiClassEpochTableHasAColumnPerClassWithItsSwatch()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<EpochTable>(p => p.Add(x => x.Points, Points).Add(x => x.Classes, Classes));
        Assert.Equal(["#123456", "#abcdef"], cut.FindAll("[data-testid=class-dice-header] [data-testid=class-swatch]").Select(s => s.GetAttribute("data-colour")));
        var newest = cut.FindAll("[data-testid=epoch-row]")[0];
        Assert.Equal(["0.800", "0.500"], newest.QuerySelectorAll("[data-testid=class-dice]").Select(c => c.TextContent.Trim()));
    }

    [Fact]
    public async Task MultiClassReviewShowsPerClassDiceSortsByAClassAndMeansPerClass()
    {
        await using var ctx = BunitSetup.NewContext();
        var table = ctx.Render<CaseResultTable>(p => p.Add(x => x.Cases, Cases).Add(x => x.Classes, Classes));
        Assert.Equal(["#123456", "#abcdef"], table.FindAll("[data-testid=class-dice-header] [data-testid=class-swatch]").Select(s => s.GetAttribute("data-colour")));
        Assert.Equal(["0.200", "0.400"], table.FindAll("[data-testid=review-row]")[0].QuerySelectorAll("[data-testid=class-dice]").Select(c => c.TextContent.Trim()));
        table.Find("button[data-sort=class-2]").Click(); // worst malignant Dice first
        Assert.Equal(["a", "b"], table.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));
        table.Find("button[data-sort=class-2]").Click();
        Assert.Equal(["b", "a"], table.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));

        var filtered = ctx.Render<CaseResultTable>(p => p.Add(x => x.Cases, Cases).Add(x => x.Classes, Classes).Add(x => x.ClassFilter, 1));
        Assert.Equal(["1"], filtered.FindAll("[data-testid=review-row]")[0].QuerySelectorAll("[data-testid=class-dice]").Select(c => c.GetAttribute("data-class")));

        var summary = ctx.Render<ReviewSummary>(p => p.Add(x => x.Cases, Cases).Add(x => x.Classes, Classes));
        var means = summary.FindAll("[data-testid=class-mean]");
        Assert.Equal(["#123456", "#abcdef"], means.Select(m => m.GetAttribute("data-colour")));
        Assert.Contains("0.600", means[0].TextContent);
        Assert.Contains("0.600", means[1].TextContent);
    }
}
