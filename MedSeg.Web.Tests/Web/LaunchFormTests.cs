using Bunit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Tests.Web;

public class LaunchFormTests
{
    private static readonly DatasetSummary Kvasir = new(Guid.NewGuid(), "Kvasir-SEG", 1000, DateTimeOffset.UtcNow, "ana",
        332, 1920, 332, 1072, 3, 0.157, 46_000_000);

    private static readonly ModelChoice[] Models =
    [
        new("unext", "UNeXt: convolutional and tokenized MLP stages, 1.47 M parameters", 32),
        new("unet", "U-Net with a 64-channel base, 31 M parameters", 16),
    ];

    private static IRenderedComponent<LaunchForm> Render(BunitContext ctx, LaunchRequest request, Func<LaunchRequest, Task<LaunchResult>> launch) =>
        ctx.Render<LaunchForm>(p => p
            .Add(x => x.Request, request)
            .Add(x => x.Datasets, [Kvasir])
            .Add(x => x.Models, Models)
            .Add(x => x.Launch, launch));

    [Theory]
    [InlineData("launch-dataset")]
    [InlineData("launch-model")]
    [InlineData("launch-name")]
    [InlineData("launch-epochs")]
    [InlineData("launch-batch")]
    [InlineData("launch-size")]
    [InlineData("launch-lr")]
    [InlineData("launch-seed")]
    [InlineData("launch-augment")]
    [InlineData("launch-optimizer")]
    [InlineData("launch-schedule")]
    [InlineData("launch-loss")]
    [InlineData("launch-patience")]
    [InlineData("launch-resize")]
    [InlineData("launch-normalization")]
    [InlineData("launch-weight-decay")]
    [InlineData("launch-warmup")]
    [InlineData("launch-clip")]
    [InlineData("launch-time-budget")]
    public async Task EveryFieldsTestIdIsOnTheInputItself(string testId)
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = Render(ctx, new LaunchRequest(), _ => throw new InvalidOperationException());
        Assert.Single(cut.FindAll($"input[data-testid={testId}]"));
    }

    [Fact]
    public async Task LaunchFormTrainingOptionsDefaultToTheEnginesRecipeWithLightAugmentation()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = Render(ctx, new LaunchRequest(), _ => throw new InvalidOperationException());
        Assert.Equal("light", cut.Find("input[data-testid=launch-augment]").GetAttribute("value"));
        Assert.Equal("adamw", cut.Find("input[data-testid=launch-optimizer]").GetAttribute("value"));
        Assert.Equal("cosine", cut.Find("input[data-testid=launch-schedule]").GetAttribute("value"));
        Assert.Equal("bce+dice", cut.Find("input[data-testid=launch-loss]").GetAttribute("value"));
        Assert.Equal("0", cut.Find("input[data-testid=launch-patience]").GetAttribute("value"));
        Assert.Equal("stretch", cut.Find("input[data-testid=launch-resize]").GetAttribute("value"));
        Assert.Equal("per-image", cut.Find("input[data-testid=launch-normalization]").GetAttribute("value"));
        Assert.Equal("0.0001", cut.Find("input[data-testid=launch-weight-decay]").GetAttribute("value"));
        Assert.Equal("0", cut.Find("input[data-testid=launch-warmup]").GetAttribute("value"));
        Assert.Equal("0", cut.Find("input[data-testid=launch-clip]").GetAttribute("value"));
        Assert.Equal("0", cut.Find("input[data-testid=launch-time-budget]").GetAttribute("value"));
        Assert.Contains("recommended", cut.Markup);
        Assert.Contains("Z-score of each image on its own", cut.Markup);
        Assert.Contains("best checkpoint is evaluated; 0 = none", cut.Markup);
    }

    [Fact]
    public async Task InputsShowTheRequestsPreprocessingAndRunLimits()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = Render(ctx, new LaunchRequest
        {
            DatasetId = Kvasir.Id, Resize = "letterbox", Normalization = "ct", WeightDecay = 0.01, WarmupEpochs = 2,
            GradientClipNorm = 12, TimeBudgetHours = 1.5,
        }, _ => throw new InvalidOperationException());

        Assert.Equal("letterbox", cut.Find("input[data-testid=launch-resize]").GetAttribute("value"));
        Assert.Equal("ct", cut.Find("input[data-testid=launch-normalization]").GetAttribute("value"));
        Assert.Equal("0.01", cut.Find("input[data-testid=launch-weight-decay]").GetAttribute("value"));
        Assert.Equal("2", cut.Find("input[data-testid=launch-warmup]").GetAttribute("value"));
        Assert.Equal("12", cut.Find("input[data-testid=launch-clip]").GetAttribute("value"));
        Assert.Equal("1.5", cut.Find("input[data-testid=launch-time-budget]").GetAttribute("value"));
        Assert.Contains("Keep the aspect ratio and pad", cut.Markup);
    }

    [Theory]
    [InlineData(332, 1920, 332, 1072, 32, 128)] // Kvasir-SEG: ~890 px, capped for the CPU
    [InlineData(48, 48, 48, 48, 32, 64)]
    [InlineData(100, 100, 100, 100, 16, 96)]
    [InlineData(10, 10, 10, 10, 32, 32)]
    public void LaunchFormSuggestsAnImageSizeFromTheDatasetSizes(int minW, int maxW, int minH, int maxH, int multiple, int expected) =>
        Assert.Equal(expected, LaunchOptions.SuggestImageSize(minW, maxW, minH, maxH, multiple));

    [Fact]
    public async Task InputsShowTheRequestsValuesAndTheChosenDataset()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = Render(ctx, new LaunchRequest { DatasetId = Kvasir.Id, Epochs = 3, BatchSize = 4, ImageSize = 128, LearningRate = 0.0005 },
            _ => throw new InvalidOperationException());

        Assert.Equal("Kvasir-SEG", cut.Find("input[data-testid=launch-dataset]").GetAttribute("value"));
        Assert.Equal("unext", cut.Find("input[data-testid=launch-model]").GetAttribute("value"));
        Assert.Equal("3", cut.Find("input[data-testid=launch-epochs]").GetAttribute("value"));
        Assert.Equal("4", cut.Find("input[data-testid=launch-batch]").GetAttribute("value"));
        Assert.Equal("128", cut.Find("input[data-testid=launch-size]").GetAttribute("value"));
        Assert.Equal("0.0005", cut.Find("input[data-testid=launch-lr]").GetAttribute("value"));
        Assert.Contains("multiple of 32", cut.Markup);
    }

    [Fact]
    public async Task ImageSizeThatIsNotAMultipleOfTheModelsIsRefusedBeforeLaunching()
    {
        await using var ctx = BunitSetup.NewContext();
        var launched = 0;
        var cut = Render(ctx, new LaunchRequest { DatasetId = Kvasir.Id }, _ => { launched++; return Task.FromResult(new LaunchResult(Guid.NewGuid(), [])); });

        cut.Find("input[data-testid=launch-size]").Change("100");
        cut.Find("form").Submit();

        cut.WaitForAssertion(() => Assert.Contains("Image size must be a multiple of 32 for unext: try 96 or 128.", cut.Markup));
        Assert.Equal(0, launched);
    }

    [Fact]
    public async Task VariantsAndDeepSupervisionAreTypedFieldsFromTheRegistry()
    {
        await using var ctx = BunitSetup.NewContext();
        var request = new LaunchRequest { DatasetId = Kvasir.Id, Model = "unetplusplus" };
        var cut = ctx.Render<LaunchForm>(p => p
            .Add(x => x.Request, request)
            .Add(x => x.Datasets, [Kvasir])
            .Add(x => x.Models, ExperimentService.Models)
            .Add(x => x.Launch, _ => throw new InvalidOperationException()));
        Assert.Equal("base32", cut.Find("input[data-testid=launch-variant]").GetAttribute("value"));
        Assert.Contains("9.16 M parameters", cut.Markup);
        Assert.Single(cut.FindAll("input[data-testid=launch-deep-supervision]"));

        // SegFormer: its variants, no deep supervision; the refused variant of an API request shows under the field.
        request.Model = "segformer";
        request.Variant = "b7";
        cut.Render();
        Assert.Empty(cut.FindAll("input[data-testid=launch-deep-supervision]"));
        cut.Find("form").Submit();
        cut.WaitForAssertion(() => Assert.Contains("Unknown variant 'b7' for segformer. Choose one of: b0, b1, b2", cut.Markup));
    }

    [Fact]
    public async Task DataAnnotationsMessagesShowPerField()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = Render(ctx, new LaunchRequest { DatasetId = null, Epochs = 0 }, _ => throw new InvalidOperationException());

        cut.Find("form").Submit();

        cut.WaitForAssertion(() =>
        {
            Assert.Contains("Choose a dataset.", cut.Markup);
            Assert.Contains("Epochs must be between 1 and 1000.", cut.Markup);
        });
    }

    [Fact]
    public async Task ServerFieldErrorsShowNextToTheirFieldsAndOthersInASummary()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = Render(ctx, new LaunchRequest { DatasetId = Kvasir.Id }, _ => Task.FromResult(new LaunchResult(null,
        [
            new FieldError(nameof(LaunchRequest.BatchSize), "A batch of 8 at 256 px does not fit in memory; try 4."),
            new FieldError(nameof(LaunchRequest.WarmupEpochs), "Warm-up applies only to the cosine schedule; set it to 0 for poly."),
            new FieldError("", "The training queue is paused."),
        ])));

        cut.Find("form").Submit();

        cut.WaitForAssertion(() =>
        {
            var batchField = cut.Find("input[data-testid=launch-batch]").Closest(".mud-input-control")!;
            Assert.Contains("does not fit in memory", batchField.TextContent);
            var warmupField = cut.Find("input[data-testid=launch-warmup]").Closest(".mud-input-control")!;
            Assert.Contains("only to the cosine schedule", warmupField.TextContent);
            Assert.Contains("The training queue is paused.", cut.Find("[data-testid=launch-errors]").TextContent);
        });
        Assert.Empty(cut.FindAll("[data-testid=launch-submit][disabled]"));
    }

    [Fact]
    public async Task ChoosingAnotherArchitectureFromTheOpenListShowsItsDescription()
    {
        await using var ctx = BunitSetup.NewContext();
        var request = new LaunchRequest { DatasetId = Kvasir.Id };
        RenderFragment page = b =>
        {
            b.OpenComponent<MudPopoverProvider>(0);
            b.CloseComponent();
            b.OpenComponent<LaunchForm>(1);
            b.AddAttribute(2, nameof(LaunchForm.Request), request);
            b.AddAttribute(3, nameof(LaunchForm.Datasets), (IReadOnlyList<DatasetSummary>)[Kvasir]);
            b.AddAttribute(4, nameof(LaunchForm.Models), (IReadOnlyList<ModelChoice>)Models);
            b.AddAttribute(5, nameof(LaunchForm.Launch), (Func<LaunchRequest, Task<LaunchResult>>)(_ => throw new InvalidOperationException()));
            b.CloseComponent();
        };
        var cut = ctx.Render(page);

        cut.Find("input[data-testid=launch-model]").Closest(".mud-input-control")!.MouseDown();
        var options = cut.FindAll(".mud-popover-open [data-testid=launch-model-option]");
        Assert.Equal(["unext", "unet"], options.Select(o => o.TextContent.Trim()));
        options[1].Click();

        cut.WaitForAssertion(() => Assert.Equal("unet", cut.Find("input[data-testid=launch-model]").GetAttribute("value")));
        Assert.Equal("unet", request.Model);
        Assert.Contains("U-Net with a 64-channel base", cut.Markup);
        Assert.Contains("multiple of 16", cut.Markup);
    }
}
