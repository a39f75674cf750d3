using Bunit;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Datasets.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

public class UploadTests
{
    private static readonly DatasetProblem[] Problems =
    [
        new("images/case_001.png", "has no mask (expected masks/case_001.png)"),
        new("masks/case_002.png", "is 512×512 but its image is 640×480"),
        new("masks/case_003.png", "has values other than 0 and 255"),
    ];

    [Fact]
    public async Task ProblemListShowsOneLinePerProblemWithTheFileInMonospace()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<UploadProblemList>(p => p
            .Add(x => x.Title, "The upload was refused: 3 problem(s).")
            .Add(x => x.Problems, Problems));

        var lines = cut.FindAll("[data-testid=upload-errors] [data-testid=upload-error]");
        Assert.Equal(3, lines.Count);
        Assert.Equal("images/case_001.png", lines[0].QuerySelector("code")!.TextContent);
        Assert.Contains("has no mask", lines[0].TextContent);
        Assert.Equal("masks/case_003.png", lines[2].QuerySelector("code")!.TextContent);
        Assert.Contains("Nothing was stored.", cut.Markup);
    }

    [Fact]
    public void OutcomeOf201IsTheCreatedDataset()
    {
        var id = Guid.NewGuid();
        var outcome = UploadOutcome.From(new UploadResponse(201, "Created", $$"""{"id":"{{id}}","cases":800}"""));
        Assert.Equal(new UploadOutcome.Created(id, 800), outcome);
    }

    [Fact]
    public void OutcomeOf400ListsTheProblems()
    {
        var body = """{"title":"The upload was refused: 2 problem(s); nothing was stored.","errors":[{"file":"a.png","problem":"no mask"},{"file":"b.png","problem":"bad size"}]}""";
        var outcome = Assert.IsType<UploadOutcome.Rejected>(UploadOutcome.From(new UploadResponse(400, "Bad Request", body)));
        Assert.Equal("The upload was refused: 2 problem(s); nothing was stored.", outcome.Title);
        Assert.Equal([new DatasetProblem("a.png", "no mask"), new DatasetProblem("b.png", "bad size")], outcome.Problems);
    }

    [Fact]
    public void OutcomeOf413WithProblemsListsThem()
    {
        var body = """{"title":"The upload was refused: 1 problem(s); nothing was stored.","errors":[{"file":"big.zip","problem":"the upload is larger than the 4.00 GB the server accepts"}]}""";
        var outcome = Assert.IsType<UploadOutcome.Rejected>(UploadOutcome.From(new UploadResponse(413, "Payload Too Large", body)));
        Assert.Equal("big.zip", Assert.Single(outcome.Problems).File);
    }

    [Theory]
    [InlineData(400, """{"type":"x","title":"No file was uploaded","status":400,"detail":"Send a multipart form."}""", "No file was uploaded: Send a multipart form.")]
    [InlineData(500, """{"title":"An error occurred while processing your request.","status":500}""", "An error occurred while processing your request.")]
    [InlineData(502, "<html>Bad gateway</html>", "The upload failed: HTTP 502 Bad Gateway.")]
    [InlineData(413, "", "larger than the server accepts")]
    public void OutcomeOfOtherAnswersShowsTheProblemTitleOrTheStatus(int status, string body, string expected)
    {
        var outcome = Assert.IsType<UploadOutcome.Failed>(UploadOutcome.From(new UploadResponse(status, status == 502 ? "Bad Gateway" : "", body)));
        Assert.Contains(expected, outcome.Message);
    }

    [Fact]
    public async Task PanelShowsTheServersProblemsAfterA400()
    {
        await using var ctx = BunitSetup.NewContext();
        ctx.JSInterop.Setup<ZipInfo?>("medseg.zipInfo", _ => true).SetResult(new ZipInfo("kvasir.zip", 1000, 1600));
        var upload = ctx.JSInterop.Setup<UploadResponse>("medseg.upload", _ => true);
        var cut = ctx.Render<UploadPanel>();

        cut.Find("[data-testid=upload-name]").Change("Kvasir");
        cut.Find("[data-testid=upload-submit]").Click();
        cut.WaitForAssertion(() => Assert.NotNull(cut.Find("[data-testid=upload-progress]")));
        Assert.NotNull(cut.Find("[data-testid=upload-submit][disabled]"));

        // The browser reports the whole file sent: the panel waits for the server's validation.
        await cut.InvokeAsync(() => cut.Instance.OnUploadProgress(1000, 1000));
        Assert.Contains("Validating 1600 files", cut.Find("[data-testid=upload-progress]").TextContent);

        upload.SetResult(new UploadResponse(400, "Bad Request",
            """{"title":"The upload was refused: 3 problem(s); nothing was stored.","errors":[{"file":"images/case_001.png","problem":"has no mask"},{"file":"masks/case_002.png","problem":"bad size"},{"file":"masks/case_003.png","problem":"not binary"}]}"""));
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=upload-error]").Count));
        Assert.Empty(cut.FindAll("[data-testid=upload-progress]"));
        Assert.Empty(cut.FindAll("[data-testid=upload-submit][disabled]"));

        var call = Assert.Single(ctx.JSInterop.Invocations, i => i.Identifier == "medseg.upload");
        Assert.Equal("/api/datasets", call.Arguments[1]);
        Assert.Equal("Kvasir", Assert.IsType<Dictionary<string, string>>(call.Arguments[2])["name"]);
    }

    [Fact]
    public async Task PanelOpensTheNewDatasetAfterA201()
    {
        await using var ctx = BunitSetup.NewContext();
        var id = Guid.NewGuid();
        ctx.JSInterop.Setup<ZipInfo?>("medseg.zipInfo", _ => true).SetResult(new ZipInfo("data.ZIP", 10, null));
        ctx.JSInterop.Setup<UploadResponse>("medseg.upload", _ => true).SetResult(new UploadResponse(201, "Created", $$"""{"id":"{{id}}","cases":4}"""));
        var cut = ctx.Render<UploadPanel>();

        cut.Find("[data-testid=upload-submit]").Click();

        var navigation = ctx.Services.GetRequiredService<NavigationManager>();
        cut.WaitForAssertion(() => Assert.EndsWith($"/datasets/{id}", navigation.Uri));
    }

    [Theory]
    [InlineData(null, "Choose a .zip file")]
    [InlineData("masks.tar.gz", "is not a .zip file")]
    public async Task PanelRefusesAMissingOrNonZipFileWithoutUploading(string? fileName, string expected)
    {
        await using var ctx = BunitSetup.NewContext();
        ctx.JSInterop.Setup<ZipInfo?>("medseg.zipInfo", _ => true).SetResult(fileName is null ? null : new ZipInfo(fileName, 10, null));
        var cut = ctx.Render<UploadPanel>();

        cut.Find("[data-testid=upload-submit]").Click();

        cut.WaitForAssertion(() => Assert.Contains(expected, cut.Markup));
        Assert.DoesNotContain(ctx.JSInterop.Invocations, i => i.Identifier == "medseg.upload");
    }

    [Fact]
    public async Task FileInputAcceptsZipFiles()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<UploadPanel>();
        var input = cut.Find("input[type=file][data-testid=upload-file]");
        Assert.Contains(".zip", input.GetAttribute("accept"));
        Assert.Equal("INPUT", cut.Find("[data-testid=upload-name]").TagName);
    }
}

public class UploadJobViewTests
{
    private static readonly DatasetProblem[] Problems =
    [
        new("images/orphan.png", "no mask: expected masks/orphan.png."),
        new("masks/b.png", "the mask is 20×32 but the image is 32×32; save the mask at the image's size."),
        new("masks/c.png", "the mask is 64×64 but the image is 48×48; save the mask at the image's size."),
    ];

    [Fact]
    public async Task AHeldUploadShowsItsGroupedReportAndAdmitsWithTheEditedClassMap()
    {
        await using var ctx = BunitSetup.NewContext();
        var job = new MedSeg.Web.Features.Datasets.UploadJob("u1", "scans", "scans.zip", 1000);
        var map = MedSeg.Web.Features.Datasets.ClassMap.Default(3);
        var review = new MedSeg.Web.Features.Datasets.IngestReview(40, Problems, 3, map, ["images/orphan.png", "masks/b.png", "masks/c.png"]);
        var decision = job.AwaitDecisionAsync(review, TimeSpan.FromMinutes(1), CancellationToken.None);
        var cut = ctx.Render<UploadJobView>(p => p.Add(x => x.Job, job));

        Assert.Equal("awaitingdecision", cut.Find("[data-testid=upload-job]").GetAttribute("data-state"));
        Assert.Equal(2, cut.FindAll("[data-testid=upload-error-group]").Count);
        Assert.Equal(3, cut.FindAll("[data-testid=upload-error]").Count);
        Assert.EndsWith("/report.csv", cut.Find("[data-testid=upload-report-csv]").GetAttribute("href"));
        Assert.Contains("Store 40 valid cases without the bad ones", cut.Find("[data-testid=upload-admit]").TextContent);

        cut.FindAll("[data-testid=class-name] input, input[data-testid=class-name]")[1].Change("hippocampus head");
        cut.Find("[data-testid=upload-admit]").Click();
        var chosen = await decision;
        Assert.True(chosen.Admit);
        Assert.Equal("hippocampus head", chosen.Classes![1].Name);
    }

    [Fact]
    public async Task RefuseEndsTheWaitWithARefusal()
    {
        await using var ctx = BunitSetup.NewContext();
        var job = new MedSeg.Web.Features.Datasets.UploadJob("u1", "scans", "scans.zip", 1000);
        var review = new MedSeg.Web.Features.Datasets.IngestReview(2, Problems, 1, MedSeg.Web.Features.Datasets.ClassMap.Default(1), ["images/orphan.png"]);
        var decision = job.AwaitDecisionAsync(review, TimeSpan.FromMinutes(1), CancellationToken.None);
        var cut = ctx.Render<UploadJobView>(p => p.Add(x => x.Job, job));
        Assert.Empty(cut.FindAll("[data-testid=class-map-editor]"));

        cut.Find("[data-testid=upload-refuse]").Click();
        Assert.False((await decision).Admit);
    }

    [Fact]
    public async Task TheUploadPanelFindsTheUsersUploadsStillInProgress()
    {
        await using var ctx = BunitSetup.NewContext();
        var tracker = ctx.Services.GetRequiredService<MedSeg.Web.Features.Datasets.UploadTracker>();
        var mine = tracker.Add(new MedSeg.Web.Features.Datasets.UploadJob("me", "mine", "mine.zip", 10));
        tracker.Add(new MedSeg.Web.Features.Datasets.UploadJob("someone else", "theirs", "theirs.zip", 10));
        mine.Report(new MedSeg.Web.Features.Datasets.IngestProgress(MedSeg.Web.Features.Datasets.IngestStage.Validating, 300, 800));

        var cut = ctx.Render<UploadPanel>(p => p.Add(x => x.User, new MedSeg.Web.Features.UserContext("me", false)));

        var view = Assert.Single(cut.FindAll("[data-testid=upload-job]"));
        Assert.Contains("Checking 300 of 800 image/mask pairs", view.TextContent);
        cut.Find("[data-testid=upload-cancel]").Click();
        Assert.True(mine.Cancellation.IsCancellationRequested);
    }
}
