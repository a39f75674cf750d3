using Bunit;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Features.Predictions.Pages;

namespace MedSeg.Web.Tests.Web;

public class PredictionComponentTests
{
    private static readonly Guid Experiment = Guid.NewGuid();
    private static readonly Guid Run = Guid.NewGuid();

    private static PredictionRunSummary Summary(PredictionRunStatus status, int done) =>
        new(Run, DateTime.UtcNow, status, 2, done, null, TestTimeAugmentation: true, LargestComponent: false, null);

    private static PredictedImageView View(string name, bool hasMask) => new(name, 32, 24,
        PredictionService.RenditionUrl(Experiment, Run, name, PredictionRendition.Image),
        PredictionService.RenditionUrl(Experiment, Run, name, PredictionRendition.Mask),
        PredictionService.RenditionUrl(Experiment, Run, name, PredictionRendition.Overlay), hasMask);

    [Fact]
    public async Task PredictionResultsShowAnOverlayPerImageAndTheMasksDownload()
    {
        await using var ctx = BunitSetup.NewContext();
        var run = new PredictionRunDetail(Summary(PredictionRunStatus.Completed, 2), [View("a", true), View("b c", true)],
            PredictionService.MasksUrl(Experiment, Run));
        var cut = ctx.Render<PredictionResults>(p => p.Add(x => x.Run, run));

        var results = cut.FindAll("[data-testid=predict-result]");
        Assert.Equal(2, results.Count);
        Assert.Contains("/images/b%20c.png?kind=overlay", results[1].GetAttribute("src"));
        Assert.EndsWith($"/predictions/{Run}/masks.zip", cut.Find("[data-testid=predict-download]").GetAttribute("href"));
    }

    [Fact]
    public async Task PredictionResultsOfARunningRunHaveNoDownloadAndOnlyFinishedOverlays()
    {
        await using var ctx = BunitSetup.NewContext();
        var run = new PredictionRunDetail(Summary(PredictionRunStatus.Running, 1), [View("a", true), View("b", false)], null);
        var cut = ctx.Render<PredictionResults>(p => p.Add(x => x.Run, run));

        Assert.Single(cut.FindAll("[data-testid=predict-result]"));
        Assert.Empty(cut.FindAll("[data-testid=predict-download]"));
    }

    [Fact]
    public async Task PredictionRunListShowsProgressAndOptions()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<PredictionRunList>(p => p.Add(x => x.Runs, [Summary(PredictionRunStatus.Running, 1)]));

        var row = cut.Find("[data-testid=predict-run]");
        Assert.Equal("Running", row.GetAttribute("data-status"));
        Assert.Contains("1 / 2", row.TextContent);
        Assert.Contains("TTA", row.TextContent);
    }
}
