using Bunit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;

namespace MedSeg.Web.Tests.Web;

/// <summary>The review's filters (a class, empty ground truth, Dice below x), its statistics (mean, median, std per column),
/// the surface-distance columns and the CSV export of the filtered table.</summary>
public sealed class ReviewInDepthComponentTests
{
    private static readonly ClassEntry[] Classes =
        [new(0, "background", "#000000"), new(1, "liver", "#123456"), new(2, "tumour", "#abcdef")];

    private static ClassCaseResult Row(int k, double dice, double? hd95, bool truthEmpty = false) =>
        new(k, dice, dice, 0.5, 0.5, hd95, hd95 / 2, null, null, 10 * k, 20 * k, truthEmpty);

    private static CaseResultView Case(string name, double dice, double? hd95, bool truthEmpty, params ClassCaseResult[] rows) =>
        new(Guid.NewGuid(), name, dice, dice, 0.5, 0.5, "/i", "/t", "/p", "/c", rows.Length > 1 ? [.. rows.Select(r => (double?)r.Dice)] : null)
        {
            Hd95 = hd95, Assd = hd95 / 2, Fp = 3, Fn = 4, TruthEmpty = truthEmpty, Classes = rows,
        };

    // Worst Dice first, as the service returns them.
    private static readonly CaseResultView[] Cases =
    [
        Case("a", 0.1, null, true, Row(1, 0.0, null, true), Row(2, 0.2, null, true)),
        Case("b", 0.5, 8.0, false, Row(1, 0.6, 4.0), Row(2, 0.4, 12.0)),
        Case("c", 0.9, 2.0, false, Row(1, 0.95, 1.0), Row(2, 0.85, 3.0)),
    ];

    private static string[] Names(IEnumerable<CaseResultView> rows) => [.. rows.Select(r => r.Name)];

    [Fact]
    public void FiltersChooseAClassEmptyGroundTruthAndADiceThresholdWorstFirst()
    {
        Assert.Equal(["a", "b", "c"], Names(ReviewFilter.None.Apply(Enumerable.Reverse(Cases))));
        Assert.Equal(["a"], Names(new ReviewFilter(EmptyTruth: true).Apply(Cases)));
        Assert.Equal(["b", "c"], Names(new ReviewFilter(EmptyTruth: false).Apply(Cases)));
        Assert.Equal(["a", "b"], Names(new ReviewFilter(DiceBelow: 0.9).Apply(Cases)));

        // A class: each case shows that class's metrics, re-sorted worst first by the class's Dice.
        var tumour = new ReviewFilter(Class: 2).Apply(Cases);
        Assert.Equal(["a", "b", "c"], Names(tumour));
        Assert.Equal([0.2, 0.4, 0.85], tumour.Select(c => c.Dice!.Value));
        Assert.Equal([null, 12.0, 3.0], tumour.Select(c => c.Hd95));
        Assert.Equal([40L, 40L, 40L], tumour.Select(c => c.Fn!.Value));
        var liverBelow = new ReviewFilter(Class: 1, DiceBelow: 0.7).Apply(Cases);
        Assert.Equal(["a", "b"], Names(liverBelow));
        Assert.Equal("?class=1&diceBelow=0.7", new ReviewFilter(Class: 1, DiceBelow: 0.7).Query());
        Assert.Equal("?emptyTruth=false", new ReviewFilter(EmptyTruth: false).Query());
        Assert.Equal("", ReviewFilter.None.Query());

        // A label-map case evaluated before per-class rows were stored: the class's Dice only.
        var old = new CaseResultView(Guid.NewGuid(), "old", 0.5, 0.5, 0.5, 0.5, "/i", "/t", "/p", "/c", [0.3, 0.7]) { Hd95 = 3 };
        var projected = ReviewFilter.ForClass(old, 2)!;
        Assert.Equal((0.7, (double?)null, (double?)null), (projected.Dice!.Value, projected.Hd95, projected.IoU));
        Assert.Null(ReviewFilter.ForClass(Case("binary", 0.5, 1, false), 1));
        Assert.Equal([1, 2], ReviewFilter.ClassesOf([old]));
        Assert.Equal([1, 2], ReviewFilter.ClassesOf(Cases));
    }

    [Fact]
    public async Task SummaryGivesMeanMedianAndStdOfEveryColumnOverTheCasesWithAValueAndStatesTheConvention()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<ReviewSummary>(p => p.Add(x => x.Cases, Cases).Add(x => x.Classes, Classes));

        var dice = cut.Find("[data-testid=statistics-row][data-column=dice]");
        Assert.Equal("0.500", dice.QuerySelector("[data-stat=mean]")!.TextContent.Trim());
        Assert.Equal("0.500", dice.QuerySelector("[data-stat=median]")!.TextContent.Trim());
        Assert.Equal("0.327", dice.QuerySelector("[data-stat=std]")!.TextContent.Trim()); // sqrt((0.16 + 0 + 0.16) / 3)
        var hd95 = cut.Find("[data-testid=statistics-row][data-column=hd95]");
        Assert.Equal(("5.000", "3.000", "2"), (hd95.QuerySelector("[data-stat=mean]")!.TextContent.Trim(),
            hd95.QuerySelector("[data-stat=std]")!.TextContent.Trim(), hd95.QuerySelector("[data-stat=n]")!.TextContent.Trim()));
        Assert.Empty(cut.FindAll("[data-testid=statistics-row][data-column=hd95Mm]")); // no case has a spacing
        var policy = System.Text.RegularExpressions.Regex.Replace(cut.Find("[data-testid=review-policy]").TextContent, @"\s+", " ");
        Assert.Contains("medpy convention", policy);
        Assert.Contains("Both masks empty: HD95 and ASSD are 0", policy);
        Assert.Contains("only one empty: undefined", policy);
    }

    [Fact]
    public async Task TableShowsSurfaceDistancesAndCountsAndSortsDistancesLargestFirst()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<CaseResultTable>(p => p.Add(x => x.Cases, Cases).Add(x => x.Classes, Classes));

        Assert.Equal(["dice", "iou", "precision", "recall", "hd95", "assd", "fp", "fn"],
            cut.FindAll("[data-testid=metric-header]").Select(h => h.GetAttribute("data-column")));
        var first = cut.FindAll("[data-testid=review-row]")[0];
        Assert.Equal("a", first.GetAttribute("data-case"));
        Assert.Equal("—", first.QuerySelector("td[data-column=hd95]")!.TextContent.Trim());
        Assert.Equal("4", first.QuerySelector("td[data-column=fn]")!.TextContent.Trim());
        cut.Find("button[data-sort=hd95]").Click(); // worst first: the largest distance, undefined last
        Assert.Equal(["b", "c", "a"], cut.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));
        cut.Find("button[data-sort=hd95]").Click();
        Assert.Equal(["c", "b", "a"], cut.FindAll("[data-testid=review-row]").Select(r => r.GetAttribute("data-case")));

        var mm = Cases.Select(c => c with { Hd95Mm = c.Hd95 * 0.5 }).ToArray();
        var withSpacing = ctx.Render<CaseResultTable>(p => p.Add(x => x.Cases, mm));
        Assert.Contains("hd95Mm", withSpacing.FindAll("[data-testid=metric-header]").Select(h => h.GetAttribute("data-column")));
        Assert.Equal("4.000", withSpacing.FindAll("[data-testid=review-row]")[1].QuerySelector("td[data-column=hd95Mm]")!.TextContent.Trim());
    }

    [Fact]
    public async Task CsvExportsTheFilteredRowsAndTheLinkCarriesTheFilter()
    {
        var csv = ReviewTable.ToCsv(new ReviewFilter(Class: 2, DiceBelow: 0.5).Apply(Cases), 2);
        var lines = csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("case,class,truth_empty,dice,iou,precision,recall,hd95,assd,hd95Mm,assdMm,fp,fn", lines[0]);
        Assert.Equal(["a,2,yes,0.2,0.2,0.5,0.5,,,,,20,40", "b,2,no,0.4,0.4,0.5,0.5,12,6,,,20,40"], lines[1..]);

        await using var ctx = BunitSetup.NewContext();
        ReviewFilter? changed = null;
        var bar = ctx.Render<ReviewFilterBar>(p => p.Add(x => x.Filter, new ReviewFilter(Class: 2, EmptyTruth: true))
            .Add(x => x.CsvUrl, "/api/experiments/x/cases.csv").Add(x => x.Classes, Classes).Add(x => x.Shown, 1).Add(x => x.Total, 3)
            .Add(x => x.FilterChanged, f => changed = f));
        Assert.Equal("/api/experiments/x/cases.csv?class=2&emptyTruth=true", bar.Find("[data-testid=export-csv]").GetAttribute("href"));
        Assert.Contains("1 of 3 cases", bar.Find("[data-testid=filter-count]").TextContent);
        bar.Find("[data-testid=dice-below] input, input[data-testid=dice-below]").Change("0.4");
        Assert.Equal(new ReviewFilter(2, true, 0.4), changed);
    }
}
