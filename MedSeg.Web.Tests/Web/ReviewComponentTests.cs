using Bunit;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;

namespace MedSeg.Web.Tests.Web;

public class ReviewComponentTests
{
    private static CaseResultView Case(string name, double? dice, double? iou = null) =>
        new(Guid.NewGuid(), name, dice, iou ?? dice, 0.9, 0.8, $"/img/{name}", $"/truth/{name}", $"/pred/{name}", $"/cmp/{name}");

    private static readonly CaseResultView[] Cases = [Case("c", 0.10), Case("a", 0.55), Case("b", 0.90), Case("d", null)];

    [Fact]
    public async Task CaseTableKeepsTheGivenOrderAndReportsTheClickedRow()
    {
        await using var ctx = BunitSetup.NewContext();
        CaseResultView? clicked = null;
        var cut = ctx.Render<CaseResultTable>(p => p
            .Add(x => x.Cases, Cases)
            .Add(x => x.Selected, Cases[0])
            .Add(x => x.SelectedChanged, c => clicked = c));

        var rows = cut.FindAll("[data-testid=review-row]");
        Assert.Equal(["c", "a", "b", "d"], rows.Select(r => r.GetAttribute("data-case")));
        Assert.Equal("true", rows[0].GetAttribute("aria-selected"));
        Assert.Equal("—", rows[3].Children[1].TextContent);

        rows[2].Click();
        Assert.Same(Cases[2], clicked);
    }

    [Fact]
    public async Task CaseTableSortsByAColumnWithMissingValuesLast()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<CaseResultTable>(p => p.Add(x => x.Cases, Cases));

        cut.Find("button[data-sort=dice]").Click();
        Assert.Equal(["c", "a", "b", "d"], cut.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));
        cut.Find("button[data-sort=dice]").Click();
        Assert.Equal(["b", "a", "c", "d"], cut.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));
        cut.Find("button[data-sort=name]").Click();
        Assert.Equal(["a", "b", "c", "d"], cut.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));
    }

    [Fact]
    public async Task SummaryAveragesOverScoredCasesAndStatesTheEmptyMaskPolicy()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<ReviewSummary>(p => p.Add(x => x.Cases, Cases));

        Assert.Equal("0.517", cut.Find("[data-testid=mean-dice]").TextContent.Trim());
        Assert.Contains("3 scored of 4", cut.Markup);
        Assert.Contains("Dice and IoU are 1 when both masks are empty and 0 when only one is", cut.Markup);
    }
}
