using Bunit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Datasets.Pages;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;

namespace MedSeg.Web.Tests.Web;

public class DatasetVersionComponentTests
{
    private static readonly SavedSplitSummary KFold = new(Guid.NewGuid(), "3-fold, seed 1 (v1)", 1, "kfold", 1, 0.2, @"^(patient\d+)_", 0.2, 10,
        [new(0, 12, 6, 6, 4, 2, 2), new(1, 12, 6, 6, 4, 2, 2), new(2, 12, 6, 6, 4, 2, 2)], DateTimeOffset.UtcNow, "ana");

    private static DatasetSummary Dataset(bool canManage) =>
        new(Guid.NewGuid(), "patients", 24, DateTimeOffset.UtcNow, "ana", 32, 32, 32, 32, 3, 0.1, 1000, CanManage: canManage)
        {
            Version = 2,
            Versions =
            [
                new(1, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 20, "first upload (20 cases)", DateTimeOffset.UtcNow, "ana"),
                new(2, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 24, "+4 cases from more.zip", DateTimeOffset.UtcNow, "ana"),
            ],
            Splits = [KFold],
        };

    [Fact]
    public async Task VersionHistoryListsVersionsNewestFirstAndOffersAddCasesOnlyToManagers()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<VersionHistory>(p => p.Add(x => x.Dataset, Dataset(canManage: true)));
        var rows = cut.FindAll("[data-testid=version-row]");
        Assert.Equal(2, rows.Count);
        Assert.Contains("v2 (latest)", rows[0].TextContent);
        Assert.Contains("+4 cases from more.zip", rows[0].TextContent);
        Assert.Contains("bbbbbbbbbbbb", rows[0].TextContent);
        Assert.Contains("first upload", rows[1].TextContent);

        cut.Find("[data-testid=add-cases]").Click();
        Assert.Contains("Add cases as a new version", cut.Markup);
        Assert.NotNull(cut.Find("[data-testid=upload-file]"));

        var readOnly = ctx.Render<VersionHistory>(p => p.Add(x => x.Dataset, Dataset(canManage: false)));
        Assert.Empty(readOnly.FindAll("[data-testid=add-cases]"));
    }

    [Fact]
    public async Task SplitsPanelShowsEachFoldsCountsAndTheFieldOfARefusal()
    {
        await using var ctx = BunitSetup.NewContext();
        ctx.AddAuthorization();
        SplitRequest? sent = null;
        var answer = new SplitResult(null, [new FieldError("assignment", "group 'patient01' is in 2 splits (train: a; validation: b)")]);
        var cut = ctx.Render<SplitsPanel>(p => p.Add(x => x.Dataset, Dataset(canManage: true))
            .Add(x => x.Create, r => { sent = r; return Task.FromResult(answer); }));

        var rows = cut.FindAll("[data-testid=split-row]");
        Assert.Equal(3, rows.Count);
        Assert.Contains("3-fold, seed 1 (v1)", rows[0].TextContent);
        Assert.Contains("12 (4 groups)", rows[1].TextContent);
        Assert.Contains("6 (2 groups)", rows[2].TextContent);

        cut.Find("[data-testid=split-create] ").Click();
        Assert.Equal("kfold", sent!.Kind);
        var error = cut.Find("[data-testid=split-error]").TextContent;
        Assert.Contains("assignment", error);
        Assert.Contains("patient01", error);

        answer = new SplitResult(KFold with { Id = Guid.NewGuid(), Name = "random, seed 2 (v2)", Kind = "random", Folds = [new(0, 20, 4, 0, 8, 2, 0)] }, []);
        cut.Find("[data-testid=split-create]").Click();
        Assert.Equal(4, cut.FindAll("[data-testid=split-row]").Count);
        Assert.Contains("random, seed 2 (v2)", cut.FindAll("[data-testid=split-row]")[0].TextContent);
        Assert.Empty(cut.FindAll("[data-testid=split-error]"));

        var readOnly = ctx.Render<SplitsPanel>(p => p.Add(x => x.Dataset, Dataset(canManage: false)));
        Assert.Empty(readOnly.FindAll("[data-testid=split-create]"));
    }

    [Fact]
    public async Task LaunchFormOffersTheDatasetsSplitsAndAFoldPickerForKFold()
    {
        await using var ctx = BunitSetup.NewContext();
        var dataset = Dataset(canManage: true);
        var request = new LaunchRequest { DatasetId = dataset.Id };
        var cut = ctx.Render<LaunchForm>(p => p
            .Add(x => x.Request, request)
            .Add(x => x.Datasets, (IReadOnlyList<DatasetSummary>)[dataset])
            .Add(x => x.Models, (IReadOnlyList<ModelChoice>)[new ModelChoice("unext", "UNeXt", 32)])
            .Add(x => x.Launch, _ => Task.FromResult(new LaunchResult(Guid.NewGuid(), []))));

        Assert.Equal("Random by seed (default)", cut.Find("input[data-testid=launch-split]").GetAttribute("value"));
        Assert.Empty(cut.FindAll("input[data-testid=launch-fold]"));
        request.SplitId = KFold.Id;
        request.Fold = 2;
        cut.Render();
        Assert.Contains("3-fold, seed 1 (v1)", cut.Find("input[data-testid=launch-split]").GetAttribute("value"));
        Assert.Equal("Fold 2: 12 train / 6 val", cut.Find("input[data-testid=launch-fold]").GetAttribute("value"));
    }
}
