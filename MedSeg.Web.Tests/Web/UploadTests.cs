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
