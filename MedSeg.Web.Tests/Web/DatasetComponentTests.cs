using Bunit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Datasets.Pages;
using MedSeg.Web.Features.Shared;

namespace MedSeg.Web.Tests.Web;

public class DatasetComponentTests
{
    [Fact]
    public async Task CaseGridShowsALazyOverlayThumbnailPerCaseAndOpensTheClickedOne()
    {
        await using var ctx = BunitSetup.NewContext();
        var datasetId = Guid.NewGuid();
        DatasetCaseSummary[] cases =
        [
            new(Guid.NewGuid(), "cju0qkwl35piu0993l0dewei2", 622, 529, 0.123),
            new(Guid.NewGuid(), "cju0qoxqj9q6s0835b43399p4", 1350, 1064, 0.04),
        ];
        DatasetCaseSummary? opened = null;
        var cut = ctx.Render<CaseGrid>(p => p.Add(x => x.DatasetId, datasetId).Add(x => x.Cases, cases).Add(x => x.OnOpen, c => opened = c));

        var thumbnails = cut.FindAll("img[data-testid=dataset-thumbnail]");
        Assert.Equal(2, thumbnails.Count);
        Assert.Equal(DatasetService.CaseUrl(datasetId, cases[1].Id, CaseRendition.Overlay, 192), thumbnails[1].GetAttribute("src"));
        Assert.All(thumbnails, t => Assert.Equal("lazy", t.GetAttribute("loading")));
        Assert.Contains("12.3 %", cut.Markup);

        cut.FindAll("button.case-tile")[1].Click();
        Assert.Same(cases[1], opened);
    }

    [Fact]
    public async Task StatsShowSizeRangesAndForeground()
    {
        await using var ctx = BunitSetup.NewContext();
        var dataset = new DatasetSummary(Guid.NewGuid(), "BUSI", 780, DateTimeOffset.UtcNow, "ana", 190, 1048, 335, 719, 1, 0.0912, 210 * 1024 * 1024);
        var cut = ctx.Render<DatasetStats>(p => p.Add(x => x.Dataset, dataset));

        Assert.Contains("190–1048 × 335–719", cut.Markup);
        Assert.Contains("9.1 %", cut.Markup);
        Assert.Contains("210.0 MB", cut.Markup);
    }

    [Theory]
    [InlineData(512, 512, 512, 512, "512 × 512")]
    [InlineData(332, 1920, 332, 1072, "332–1920 × 332–1072")]
    public void SizeRangeCollapsesEqualBounds(int minW, int maxW, int minH, int maxH, string expected) =>
        Assert.Equal(expected, Format.SizeRange(minW, maxW, minH, maxH));
}
