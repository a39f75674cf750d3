using Bunit;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using MedSeg.Web.Features.Shared;
using ExperimentConfig = MedSeg.Web.Features.Experiments.ExperimentConfig;
using ExperimentConfigView = MedSeg.Web.Features.Experiments.Pages.ExperimentConfig;

namespace MedSeg.Web.Tests.Web;

public class ExperimentComponentTests
{
    private static readonly EpochPoint[] Points =
    [
        new(1, 0.90, 0.80, 0.41, 0.30, 1e-3, 12.5),
        new(2, 0.60, 0.55, 0.72, 0.58, 1e-3, 11.9),
        new(3, 0.45, 0.50, 0.69, 0.55, 5e-4, 12.1),
    ];

    [Theory]
    [InlineData(ExperimentStatus.Queued)]
    [InlineData(ExperimentStatus.Running)]
    [InlineData(ExperimentStatus.Completed)]
    [InlineData(ExperimentStatus.Failed)]
    [InlineData(ExperimentStatus.Cancelled)]
    [InlineData(ExperimentStatus.Interrupted)]
    public async Task StatusChipTextIsTheStatusName(ExperimentStatus status)
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<StatusChip>(p => p.Add(x => x.Status, status).Add(x => x.TestId, "experiment-status"));
        Assert.Equal(status.ToString(), cut.Find("[data-testid=experiment-status]").TextContent.Trim());
    }

    [Fact]
    public async Task EpochTableHasARowPerEpochNewestFirstAndMarksTheBestDice()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<EpochTable>(p => p.Add(x => x.Points, Points));

        var rows = cut.FindAll("[data-testid=epoch-row]");
        Assert.Equal(["3", "2", "1"], rows.Select(r => r.GetAttribute("data-epoch")));
        Assert.Contains("0.720", rows[1].TextContent);
        Assert.Contains("best", rows[1].ClassList);
        Assert.Single(cut.FindAll("tr.best"));
    }

    [Fact]
    public async Task EpochTableSaysSoWhenNoEpochHasFinished()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<EpochTable>(p => p.Add(x => x.Points, []));
        Assert.Empty(cut.FindAll("[data-testid=epoch-row]"));
        Assert.Contains("No epoch has finished yet.", cut.Markup);
    }

    [Fact]
    public async Task MetricsChartDrawsEachSeriesThroughEveryEpoch()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<MetricsChart>(p => p.Add(x => x.Points, Points).Add(x => x.Epochs, 20));

        var lines = cut.FindAll("polyline.series");
        Assert.Equal(["Train loss", "Validation loss", "Validation Dice", "Validation IoU"], lines.Select(l => l.GetAttribute("data-series")));
        Assert.All(lines, l => Assert.Equal(3, l.GetAttribute("points")!.Split(' ').Length));
        // The x axis spans the planned 20 epochs, so three epochs take the left part of the plot only.
        var xs = lines[0].GetAttribute("points")!.Split(' ').Select(p => double.Parse(p.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(xs[2] < 150, $"epoch 3 is drawn at x={xs[2]}");
        Assert.Contains("0.690", cut.Find("[data-testid=chart-dice] .line-chart-legend").TextContent);
    }

    [Fact]
    public async Task LineChartPutsHigherValuesHigherWithinAFixedRange()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<LineChart>(p => p
            .Add(x => x.Title, "Dice")
            .Add(x => x.Series, [new LineSeries("Dice", "#000", [(1, 0.0), (2, 1.0)])])
            .Add(x => x.YMin, 0).Add(x => x.YMax, 1));

        var ys = cut.Find("polyline").GetAttribute("points")!.Split(' ')
            .Select(p => double.Parse(p.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(ys[1] < ys[0]);
        Assert.Equal(["0", "0.2", "0.4", "0.6", "0.8", "1"], cut.FindAll("text.tick").Take(6).Select(t => t.TextContent));
    }

    [Fact]
    public async Task EpochProgressShowsTheEpochAndTheBatchWithinIt()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<EpochProgress>(p => p
            .Add(x => x.Status, ExperimentStatus.Running)
            .Add(x => x.CurrentEpoch, 2)
            .Add(x => x.Epochs, 20)
            .Add(x => x.Batch, new BatchProgressMessage(Guid.NewGuid(), 3, 20, 12, 50, 0.4321)));

        Assert.Equal("Epoch 3 / 20", cut.Find("[data-testid=epoch-counter]").TextContent.Trim());
        var batch = cut.Find("[data-testid=batch-progress]").TextContent;
        Assert.Contains("batch 12/50", batch);
        Assert.Contains("0.4321", batch);
    }

    [Theory]
    [InlineData("config-resize", "letterbox")]
    [InlineData("config-normalization", "dataset")]
    [InlineData("config-optimizer", "sgd, weight decay 3e-05")]
    [InlineData("config-schedule", "cosine, 2 warm-up epoch(s)")]
    [InlineData("config-clip", "norm 12")]
    [InlineData("config-time-budget", "1.5 h")]
    [InlineData("config-patience", "off")]
    [InlineData("config-variant", "s")]
    [InlineData("config-weights", "MiT-B0 (sha256 0123456789ab…)")]
    public async Task ExperimentConfigShowsTheTrainingOptions(string testId, string expected)
    {
        await using var ctx = BunitSetup.NewContext();
        var config = new ExperimentConfig
        {
            Optimizer = "sgd", WeightDecay = 3e-5, WarmupEpochs = 2, GradientClipNorm = 12, TimeBudgetHours = 1.5,
            Resize = "letterbox", Normalization = "dataset", ModelOptions = new MedSeg.Engine.Models.ModelOptions(Variant: "s"),
            Weights = new WeightsRef(Guid.NewGuid(), "MiT-B0", "0123456789abcdef0123"),
        };
        var detail = new ExperimentDetail(new ExperimentSummary(Guid.NewGuid(), "run", "unext", Guid.NewGuid(), "Kvasir",
            ExperimentStatus.Running, 1, 10, null, DateTimeOffset.UtcNow), 8, 256, 1e-3, 1, 80, 20, null, null, null, [], [], config);
        var cut = ctx.Render<ExperimentConfigView>(p => p.Add(x => x.Detail, detail));
        Assert.Equal(expected, cut.Find($"[data-testid={testId}]").TextContent.Trim());
    }

    [Fact]
    public async Task ExperimentConfigOfAnOldExperimentShowsTheDefaults()
    {
        await using var ctx = BunitSetup.NewContext();
        var detail = new ExperimentDetail(new ExperimentSummary(Guid.NewGuid(), "run", "unext", Guid.NewGuid(), "Kvasir",
            ExperimentStatus.Completed, 2, 2, 0.5, DateTimeOffset.UtcNow), 4, 32, 1e-3, 1, 8, 2, null, null, null, [], [],
            ExperimentConfig.Parse("""{"model":"unext","Epochs":2,"BatchSize":4,"ImageSize":32,"LearningRate":0.001}"""));
        var cut = ctx.Render<ExperimentConfigView>(p => p.Add(x => x.Detail, detail));
        var options = cut.Find("[data-testid=training-options]").TextContent;
        Assert.Equal("stretch", cut.Find("[data-testid=config-resize]").TextContent.Trim());
        Assert.Equal("per-image", cut.Find("[data-testid=config-normalization]").TextContent.Trim());
        Assert.Equal("none", cut.Find("[data-testid=config-time-budget]").TextContent.Trim());
        Assert.Equal("adamw, weight decay 0.0001", cut.Find("[data-testid=config-optimizer]").TextContent.Trim());
        Assert.Contains("flips", options);
    }

    [Fact]
    public async Task PreviewGridShowsImageTruthAndPredictionPerCase()
    {
        await using var ctx = BunitSetup.NewContext();
        PreviewImage[] previews =
        [
            new(Guid.NewGuid(), "case_b", 4, "/i/b.png", "/t/b.png", "/p/b-4.png"),
            new(Guid.NewGuid(), "case_a", 4, "/i/a.png", "/t/a.png", "/p/a-4.png"),
        ];
        var cut = ctx.Render<PreviewGrid>(p => p.Add(x => x.Previews, previews));

        Assert.Equal(["/p/a-4.png", "/p/b-4.png"], cut.FindAll("img[data-testid=preview-image]").Select(i => i.GetAttribute("src")));
        Assert.Equal(6, cut.FindAll("img").Count);
        Assert.Contains("Ground truth", cut.Markup);
    }
}
