using Bunit;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using ExperimentConfig = MedSeg.Web.Features.Experiments.ExperimentConfig;

namespace MedSeg.Web.Tests.Web;

/// <summary>The launch suggestions from a fingerprint (one rule place, <see cref="LaunchSuggestions"/>) and the form applying them.</summary>
public class LaunchSuggestionsTests
{
    private const long Ceiling = 6L << 30;

    private static VersionFingerprint Fingerprint(int cases = 100, int width = 512, int height = 480, Spread? aspect = null, int channels = 1,
        bool deep = true, double min = -1024, double max = 3071) =>
        new(1, cases, Math.Min(cases, 200), DateTimeOffset.UtcNow, new Spread(width, width, width), new Spread(height, height, height),
            aspect ?? new Spread((double)width / height, (double)width / height, (double)width / height), [], [], null, channels, deep,
            [.. Enumerable.Range(0, channels).Select(c => new ChannelIntensity(c, new IntensityStats(100, 50, min + 1, max - 1, min, max), null))],
            [new ClassBalance(0, 0.9, cases), new ClassBalance(1, 0.1, cases)], 0, new GroupSummary(cases, cases, new Spread(1, 1, 1), []));

    private static LaunchSuggestion Of(IReadOnlyList<LaunchSuggestion> list, string field) => list.Single(s => s.Field == field);

    [Fact]
    public void CtLikeDatasetGetsTheSoftTissueWindowWithItsReason()
    {
        var s = LaunchSuggestions.For(Fingerprint(), "unext", 32, Ceiling, maxSize: 512);

        var n = Of(s, nameof(LaunchRequest.Normalization));
        Assert.Equal(("ct", -160.0, 240.0), (n.Name, n.WindowLow!.Value, n.WindowHigh!.Value));
        Assert.Contains("CT range", n.Reason);
        Assert.Contains("window −160…240", n.Reason);
        var size = Of(s, nameof(LaunchRequest.ImageSize));
        Assert.Equal(512, size.Number);
        Assert.Equal("median size 512×480 → 512", size.Reason);
        var capped = Of(LaunchSuggestions.For(Fingerprint(), "unext", 32, Ceiling), nameof(LaunchRequest.ImageSize));
        Assert.Equal(128, capped.Number);
        Assert.Contains("capped at 128 for CPU training; 512 would suit the images on a GPU", capped.Reason);
    }

    [Fact]
    public void MriLikeAndColourDatasetsGetPerImageZScores()
    {
        var mri = Of(LaunchSuggestions.For(Fingerprint(min: 0, max: 4095), "unext", 32, Ceiling), nameof(LaunchRequest.Normalization));
        Assert.Equal("per-image", mri.Name);
        Assert.Contains("MRI-like", mri.Reason);
        var colour = Of(LaunchSuggestions.For(Fingerprint(channels: 3, deep: false, min: 0, max: 255), "unext", 32, Ceiling), nameof(LaunchRequest.Normalization));
        Assert.Equal("per-image", colour.Name);
        Assert.Null(colour.WindowLow);
        Assert.Contains("8-bit 3-channel colour", colour.Reason);
    }

    [Fact]
    public void VariedAspectRatiosAreLetterboxedAndSquareOnesStretched()
    {
        var varied = Of(LaunchSuggestions.For(Fingerprint(aspect: new Spread(0.75, 1.2, 1.78)), "unext", 32, Ceiling), nameof(LaunchRequest.Resize));
        Assert.Equal("letterbox", varied.Name);
        Assert.Contains("aspect ratios (W/H) 0.75–1.78 vary → letterbox", varied.Reason);
        var square = Of(LaunchSuggestions.For(Fingerprint(width: 256, height: 256), "unext", 32, Ceiling), nameof(LaunchRequest.Resize));
        Assert.Equal("stretch", square.Name);
    }

    [Theory]
    [InlineData("unext", 2L << 30)]
    [InlineData("unet", 3L << 30)]
    [InlineData("unet", 6L << 30)]
    public void SuggestedBatchIsTheLargestThatFitsTheAdmissionEstimate(string model, long ceiling)
    {
        var f = Fingerprint(cases: 800);
        var s = LaunchSuggestions.For(f, model, 32, ceiling);
        var (size, batch) = (Of(s, nameof(LaunchRequest.ImageSize)).Number!.Value, Of(s, nameof(LaunchRequest.BatchSize)).Number!.Value);
        RunShape Shape(int b) => new(model, null, b, size, 3, 640, 160, 512L * 480);

        Assert.Null(MemoryEstimate.Check(Shape(batch), ceiling, 32)); // the launch admits it
        if (batch < LaunchSuggestions.MaxBatch) Assert.NotNull(MemoryEstimate.Check(Shape(batch + 1), ceiling, 32));
        Assert.Contains("within the", Of(s, nameof(LaunchRequest.BatchSize)).Reason);
    }

    [Fact]
    public void NoBatchFittingSaysSoAndEpochsFollowTheSteps()
    {
        var tight = Of(LaunchSuggestions.For(Fingerprint(), "unet", 32, 100L << 20), nameof(LaunchRequest.BatchSize));
        Assert.Equal(1, tight.Number);
        Assert.Contains("No batch", tight.Reason);

        var s = LaunchSuggestions.For(Fingerprint(cases: 800, width: 256, height: 256), "unext", 32, 64L << 30);
        Assert.Equal(8, Of(s, nameof(LaunchRequest.BatchSize)).Number);
        var epochs = Of(s, nameof(LaunchRequest.Epochs));
        // 640 training cases / 8 = 80 steps an epoch; 12000 / 80 → 150 epochs (the Kvasir-SEG recipe).
        Assert.Equal(150, epochs.Number);
        Assert.Equal("640 training cases at batch 8 → 80 steps an epoch; 150 epochs ≈ 12000 steps", epochs.Reason);
    }

    [Fact]
    public void CtWindowReachesTheEnginesNormalizationAndIsChecked()
    {
        var config = new ExperimentConfig { Normalization = "ct", WindowLow = -160, WindowHigh = 240 };
        var plan = (config with { Epochs = 1, BatchSize = 1, ImageSize = 32 }).ToPlan([], [], ".");
        var n = plan.Preprocessing.EffectiveNormalization;
        Assert.Equal((NormalizationMode.CtWindow, -160.0, 240.0), (n.Mode, n.Low![0], n.High![0]));
        Assert.Null(n.Mean); // clip and scale to [0, 1]; the trainer resolves nothing
        Assert.Equal(config, ExperimentConfig.Parse(config.Serialize()) with { });
        Assert.Null(new ExperimentConfig { Normalization = "ct" }.EngineNormalization.Low); // from the training foreground

        Assert.Null(TrainingSettings.CheckWindow("ct", -160, 240));
        Assert.Null(TrainingSettings.CheckWindow("per-image", null, null));
        Assert.Contains("only to the ct normalization", TrainingSettings.CheckWindow("dataset", 0, 80));
        Assert.Contains("both window bounds", TrainingSettings.CheckWindow("ct", 0, null));
        Assert.Contains("must be above", TrainingSettings.CheckWindow("ct", 80, 0));
    }

    private static readonly ModelChoice[] Models = [new("unext", "UNeXt", 32), new("unet", "U-Net", 16)];

    private static DatasetSummary Ct => new(Guid.NewGuid(), "ct", 100, DateTimeOffset.UtcNow, "ana", 512, 512, 480, 480, 1, 0.1, 1000)
    {
        Fingerprint = Fingerprint(aspect: new Spread(0.75, 1.07, 1.78)),
    };

    private static IRenderedComponent<LaunchForm> Render(BunitContext ctx, LaunchRequest request, DatasetSummary dataset, bool start) =>
        ctx.Render<LaunchForm>(p => p
            .Add(x => x.Request, request)
            .Add(x => x.Datasets, [dataset])
            .Add(x => x.Models, Models)
            .Add(x => x.MemoryCeilingBytes, Ceiling)
            .Add(x => x.ApplySuggestionsOnStart, start)
            .Add(x => x.Launch, _ => throw new InvalidOperationException()));

    [Fact]
    public async Task LaunchFormStartsFromTheSuggestionsAndShowsTheirReasons()
    {
        await using var ctx = BunitSetup.NewContext();
        var dataset = Ct;
        var request = new LaunchRequest { DatasetId = dataset.Id };
        var cut = Render(ctx, request, dataset, start: true);

        var expected = LaunchSuggestions.For(dataset.Fingerprint!, "unext", 32, Ceiling);
        Assert.Equal(Of(expected, nameof(LaunchRequest.BatchSize)).Number, request.BatchSize);
        Assert.Equal(("128", "letterbox", "ct"), (cut.Find("input[data-testid=launch-size]").GetAttribute("value"),
            cut.Find("input[data-testid=launch-resize]").GetAttribute("value"), cut.Find("input[data-testid=launch-normalization]").GetAttribute("value")));
        Assert.Equal(("-160", "240"), (cut.Find("input[data-testid=launch-window-low]").GetAttribute("value"),
            cut.Find("input[data-testid=launch-window-high]").GetAttribute("value")));
        Assert.Equal(9, cut.FindAll("[data-testid=suggestion]").Count);
        Assert.Contains("median size 512×480 → 128", cut.Markup);
        Assert.Contains("window −160…240", cut.Markup);
        Assert.Empty(cut.FindAll("[data-testid=suggestion-apply]")); // all applied
        Assert.Contains("no field changed", cut.Find("[data-testid=suggestions-changed]").TextContent);
    }

    [Fact]
    public async Task LaunchFormAppliesOneSuggestionOrAllWithOneClick()
    {
        await using var ctx = BunitSetup.NewContext();
        var dataset = Ct;
        var request = new LaunchRequest { DatasetId = dataset.Id, ImageSize = 96, BatchSize = 2, Resize = "stretch" };
        var cut = Render(ctx, request, dataset, start: false);

        // Not started from them: the request's own values stay, each suggestion offers Apply.
        Assert.Equal("96", cut.Find("input[data-testid=launch-size]").GetAttribute("value"));
        Assert.Equal(9, cut.FindAll("[data-testid=suggestion-apply]").Count);

        cut.Find("[data-field=Resize] [data-testid=suggestion-apply]").Click();
        Assert.Equal("letterbox", request.Resize);
        Assert.Equal(96, request.ImageSize);
        Assert.Equal(8, cut.FindAll("[data-testid=suggestion-apply]").Count);

        cut.Find("[data-testid=suggestions-apply-all]").Click();
        Assert.Equal((128, "ct", -160.0, 240.0), (request.ImageSize, request.Normalization, request.WindowLow!.Value, request.WindowHigh!.Value));
        Assert.Equal((0.05, "strong", 2, 2e-3), (request.WeightDecay, request.Augmentation, request.WarmupEpochs, request.LearningRate));
        cut.WaitForAssertion(() => Assert.Equal("128", cut.Find("input[data-testid=launch-size]").GetAttribute("value")));
        Assert.Empty(cut.FindAll("[data-testid=suggestion-apply]"));
    }

    [Fact]
    public async Task ChoosingADatasetReappliesSuggestionsToFieldsTheUserHasNotEdited()
    {
        await using var ctx = BunitSetup.NewContext();
        var dataset = Ct;
        var request = new LaunchRequest();
        var cut = Render(ctx, request, dataset, start: true);
        Assert.Empty(cut.FindAll("[data-testid=launch-suggestions]")); // no dataset yet

        cut.Find("input[data-testid=launch-epochs]").Change("7");
        // The dataset select, as the user picks it: the request changes, then the edit context hears of it.
        request.DatasetId = dataset.Id;
        var form = cut.FindComponent<Microsoft.AspNetCore.Components.Forms.EditForm>().Instance.EditContext!;
        await cut.InvokeAsync(() => form.NotifyFieldChanged(form.Field(nameof(LaunchRequest.DatasetId))));
        cut.Render(); // the select's change re-renders the form in the browser

        cut.WaitForAssertion(() => Assert.Single(cut.FindAll("[data-testid=launch-suggestions]")));
        Assert.Equal(7, request.Epochs); // edited: kept
        Assert.Equal(("letterbox", "ct", 128), (request.Resize, request.Normalization, request.ImageSize));
        Assert.Single(cut.FindAll("[data-testid=suggestion-apply]")); // epochs only
        // The user sees which field they changed from the suggestion, with both values.
        var changed = cut.Find("[data-testid=suggestions-changed]").TextContent;
        Assert.Contains("You changed 1 field from the suggestion: Epochs 7 (suggested", changed);
        Assert.Equal("changed: 7", cut.Find("[data-field=Epochs] [data-testid=suggestion-changed]").TextContent.Trim());
    }

    [Theory]
    [InlineData(35, 50, 256, 64)]   // small MRI slices are never shrunk
    [InlineData(120, 100, 256, 128)]
    [InlineData(577, 530, 256, 256)] // Kvasir-SEG's median, capped on the CPU
    [InlineData(512, 480, 1024, 512)]
    public void TheSuggestedSizeIsTheNearestStepButNeverShrinksSmallImages(double width, double height, int max, int expected) =>
        Assert.Equal(expected, MedSeg.Engine.Data.Pipeline.DatasetFingerprint.SuggestSize(width, height, max));
}
