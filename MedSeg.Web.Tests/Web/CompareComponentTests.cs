using AngleSharp.Dom;
using Bunit;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Compare;
using MedSeg.Web.Features.Experiments.Compare.Pages;
using MedSeg.Web.Features.Experiments.Pages;
using MedSeg.Web.Features.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

public class CompareComponentTests
{
    private static readonly CompareRun A = new(Guid.NewGuid(), "run a", "unext", ExperimentStatus.Completed, Guid.NewGuid(), "discs", 1, 3, null);
    private static readonly CompareRun B = new(Guid.NewGuid(), "run b", "unext", ExperimentStatus.Completed, A.DatasetId, "discs", 2, 3, null);

    private static ComparedCase Case(string name, double? a, double? b) => new(Guid.NewGuid(), name, CompareService.Spread([a, b]), $"/img/{name}", $"/truth/{name}",
        [new(A.Id, a, a is null ? null : $"/pred/a/{name}"), new(B.Id, b, b is null ? null : $"/pred/b/{name}")]);

    [Fact]
    public async Task TheDiffTableShowsOneRowPerDifferingFieldAndAColumnPerRun()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<ConfigDiffTable>(p => p.Add(x => x.Runs, [A, B])
            .Add(x => x.Diff, [new ConfigDifference("learningRate", ["0.004", "0.01"]), new ConfigDifference("dataset.version", ["1", null])]));
        var rows = cut.FindAll("[data-testid=diff-row]");
        Assert.Equal(["learningRate", "dataset.version"], rows.Select(r => r.GetAttribute("data-field")));
        Assert.Equal(["0.004", "0.01"], rows[0].QuerySelectorAll("[data-testid=diff-value]").Select(c => c.TextContent));
        Assert.Equal("—", rows[1].QuerySelectorAll("[data-testid=diff-value]")[1].TextContent);
        Assert.Contains("run b", cut.Find("thead").TextContent);

        cut = ctx.Render<ConfigDiffTable>(p => p.Add(x => x.Runs, [A, B]).Add(x => x.Diff, []));
        Assert.Contains("same configuration", cut.Find("[data-testid=diff-none]").TextContent);
    }

    [Fact]
    public async Task TheSameCaseShowsImageTruthAndEachRunsPredictionWithItsDice()
    {
        await using var ctx = BunitSetup.NewContext();
        ComparedCase[] cases = [Case("split", 0.9, 0.1), Case("agree", 0.8, 0.8), Case("alone", 0.5, null)];
        var cut = ctx.Render<CaseAcrossRuns>(p => p.Add(x => x.Runs, [A, B]).Add(x => x.Cases, cases));

        Assert.Equal(["split", "agree", "alone"], cut.FindAll("[data-testid=across-row]").Select(r => r.GetAttribute("data-case")));
        Assert.Equal("/img/split", cut.Find("[data-testid=across-image]").GetAttribute("src"));
        Assert.Equal("/truth/split", cut.Find("[data-testid=across-truth]").GetAttribute("src"));
        Assert.Equal(["/pred/a/split", "/pred/b/split"], cut.FindAll("[data-testid=across-prediction]").Select(i => i.GetAttribute("src")));
        Assert.Equal(["0.900", "0.100"], cut.FindAll("[data-testid=across-dice]").Select(d => d.TextContent));
        Assert.Contains("0.800", cut.Find("[data-testid=case-selected]").TextContent);

        cut.FindAll("[data-testid=across-row]")[2].Click();
        Assert.Equal("alone", cut.Instance.Selected!.Name);
        Assert.Single(cut.FindAll("[data-testid=across-prediction]"));
        Assert.Contains("not evaluated", cut.FindAll("[data-testid=across-run]")[1].TextContent);
        Assert.Equal(["0.500", "—"], cut.FindAll("[data-testid=across-dice]").Select(d => d.TextContent));
    }

    [Fact]
    public async Task TheCurvesSwitchBetweenEpochsAndWallTime()
    {
        await using var ctx = BunitSetup.NewContext();
        RunCurve[] curves =
        [
            new(A.Id, [new(1, 2.0, 0.9, 1.0, 0.3, 1e-3), new(2, 4.5, 0.7, 0.8, 0.5, 5e-4)]),
            new(B.Id, [new(1, 3.0, 0.8, 0.9, 0.4, 1e-3)]),
        ];
        var cut = ctx.Render<CompareCurves>(p => p.Add(x => x.Runs, [A, B]).Add(x => x.Curves, curves));
        var dice = cut.Find("[data-testid=compare-chart-dice]");
        Assert.Equal(2, dice.QuerySelectorAll("polyline.series").Length);
        Assert.Equal(["run a", "run b"], dice.QuerySelectorAll("polyline.series").Select(s => s.GetAttribute("data-series")));
        Assert.Equal(4, cut.Find("[data-testid=compare-chart-loss]").QuerySelectorAll("polyline.series").Length);
        Assert.Contains("Epoch", dice.TextContent);
        Assert.Contains("run a, epoch 2: 0.500", dice.TextContent);

        cut.Find("[data-testid=compare-x-wall]").Click();
        dice = cut.Find("[data-testid=compare-chart-dice]");
        Assert.Contains("Wall time (s)", dice.TextContent);
        Assert.Contains("run a, wall time (s) 4.5: 0.500", dice.TextContent);
        Assert.Equal((60, "Wall time (min)"), CompareCurves.WallUnit(600));
        Assert.Equal((3600, "Wall time (h)"), CompareCurves.WallUnit(10_000));
    }

    [Fact]
    public async Task TheMetricsTableShowsEachRunAndTheGroupsMeanAndStd()
    {
        await using var ctx = BunitSetup.NewContext();
        var group = new GroupMetrics(Guid.NewGuid(), "pair", 2, 2,
            new Dictionary<string, double?> { [GroupStatistics.BestDice] = 0.7, [GroupStatistics.FinalValidationLoss] = 0.25 },
            new Dictionary<string, double?> { [GroupStatistics.BestDice] = 0.1, [GroupStatistics.FinalValidationLoss] = null });
        var metrics = new CompareMetrics([new(A.Id, new MemberMetrics(0.6, 0.55, 0.4, 0.3)), new(B.Id, new MemberMetrics(null, null, null, null))], [group]);
        var cut = ctx.Render<CompareMetricsTable>(p => p.Add(x => x.Runs, [A, B]).Add(x => x.Metrics, metrics));
        var rows = cut.FindAll("[data-testid=metrics-run]");
        Assert.Equal(2, rows.Count);
        Assert.Contains("0.600", rows[0].TextContent);
        Assert.Contains("0.3000", rows[0].TextContent);
        Assert.Equal("0.700 ± 0.100", cut.Find("[data-testid=group-mean-bestDice]").TextContent);
        Assert.Equal("0.2500 (one member)", cut.Find("[data-testid=group-mean-finalValidationLoss]").TextContent);
        Assert.Equal("—", cut.Find("[data-testid=group-mean-finalIoU]").TextContent);
    }

    [Fact]
    public async Task ALineChartWithAContinuousXStartsAtZero()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<LineChart>(p => p.Add(x => x.Title, "t").Add(x => x.XMin, 0).Add(x => x.IntegerX, false).Add(x => x.XLabel, "Wall time (s)")
            .Add(x => x.Series, [new LineSeries("s", "#000", [(0.4, 0.1), (1.3, 0.2)])]));
        var ticks = cut.FindAll("text.tick").Select(t => t.TextContent).ToList();
        Assert.Contains("0", ticks);
        Assert.Contains("0.2", ticks);
        Assert.DoesNotContain(ticks, t => t == "1" && ticks.IndexOf(t) == 0);
    }

    [Fact]
    public async Task TheExperimentTableTicksRunsWithoutOpeningThem()
    {
        await using var ctx = BunitSetup.NewContext();
        var selection = new HashSet<Guid>();
        var changed = 0;
        ExperimentSummary Summary(CompareRun r) => new(r.Id, r.Name, r.Model, r.DatasetId, r.DatasetName, r.Status, 3, 3, 0.5, DateTimeOffset.UtcNow);
        var cut = ctx.Render<ExperimentTable>(p => p.Add(x => x.Experiments, [Summary(A), Summary(B)]).Add(x => x.Selection, selection)
            .Add(x => x.SelectionChanged, () => changed++).Add(x => x.MaxSelection, 1));
        var navigation = ctx.Services.GetRequiredService<Microsoft.AspNetCore.Components.NavigationManager>();
        IElement Box(string name) =>
            cut.Find($"[data-testid=experiment-select][data-experiment='{name}'] input, input[data-testid=experiment-select][data-experiment='{name}']");
        Box("run a").Change(true);
        Assert.Equal([A.Id], selection);
        Assert.Equal(1, changed);
        Assert.DoesNotContain("/experiments/", navigation.Uri);
        // At the limit the other checkboxes are disabled.
        Assert.True(Box("run b").HasAttribute("disabled"));
        Assert.False(Box("run a").HasAttribute("disabled"));
    }
}
