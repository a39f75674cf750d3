using Bunit;
using MedSeg.Engine.Metrics;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Features.Predictions.Pages;

namespace MedSeg.Web.Tests.Web;

public class VolumeMetricComponentTests
{
    [Fact]
    public async Task VolumeDiceLineShowsTheLatestPerVolumeDiceBesideThePerSliceMeanOnlyWhenPresent()
    {
        await using var ctx = BunitSetup.NewContext();
        EpochPoint[] points =
        [
            new(1, 0.9, 0.8, 0.70, 0.5, 1e-3, 10, VolumeDice: [0.62]),
            new(2, 0.7, 0.6, 0.75, 0.6, 1e-3, 10, VolumeDice: [0.55]),
        ];

        var cut = ctx.Render<VolumeDiceLine>(p => p.Add(x => x.Points, points));
        var plain = ctx.Render<VolumeDiceLine>(p => p.Add(x => x.Points, [new EpochPoint(1, 0.9, 0.8, 0.7, 0.5, 1e-3, 10)]));

        var text = cut.Find("[data-testid=volume-dice]").TextContent;
        Assert.Contains("Per volume", text);
        Assert.Contains("0.550", text);
        Assert.Contains("epoch 2", text);
        Assert.Contains("per slice 0.750", text);
        Assert.Contains("best 0.620 at epoch 1", text);
        Assert.Empty(plain.FindAll("[data-testid=volume-dice]"));
    }

    [Fact]
    public async Task VolumeResultTableListsVolumesWorstFirstWithDiceAndHd95PerClass()
    {
        await using var ctx = BunitSetup.NewContext();
        var volumes = VolumeReviewService.WorstFirst(
        [
            new VolumeResult("liver_2", 40, [0.9, 0.8], [2.5, null]),
            new VolumeResult("liver_7", 35, [0.4, 0.6], [12.25, 8]),
        ]);

        var cut = ctx.Render<VolumeResultTable>(p => p.Add(x => x.Volumes, volumes).Add(x => x.MasksUrl, "/masks"));

        var rows = cut.FindAll("[data-testid=volume-row]");
        Assert.Equal(["liver_7", "liver_2"], rows.Select(r => r.GetAttribute("data-volume")));
        var cells = rows[1].QuerySelectorAll("td").Select(c => c.TextContent.Trim()).ToArray();
        Assert.Equal(["liver_2", "40", "0.900", "0.800", "2.50", "—"], cells);
        Assert.Contains("Dice class 2", cut.Find("thead").TextContent);
        Assert.Equal("/masks", cut.Find("[data-testid=volume-masks]").GetAttribute("href"));
    }

    [Fact]
    public async Task PredictionResultsShowAVolumeAsALineNamingItsNiftiMaskNotAsImages()
    {
        await using var ctx = BunitSetup.NewContext();
        var summary = new PredictionRunSummary(Guid.NewGuid(), DateTime.UtcNow, PredictionRunStatus.Completed, 1, 1, null, false, false, null);
        var run = new PredictionRunDetail(summary, [new PredictedImageView("patient-7", 12, 10, "/i", "/m", "/o", HasMask: true, Slices: 6)], "/zip");

        var cut = ctx.Render<PredictionResults>(p => p.Add(x => x.Run, run));

        Assert.Contains("patient-7.nii.gz", cut.Find("[data-testid=predict-volume]").TextContent);
        Assert.Contains("12 × 10 × 6 slices", cut.Markup);
        Assert.Empty(cut.FindAll("[data-testid=predict-image]"));
    }
}
