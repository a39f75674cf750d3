using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The registry's metadata is what the models are (so nobody needs to build one to ask), its one check, the
/// engine's one settings check, and UNet++'s real deep supervision.</summary>
public sealed class ModelRegistryTests(SmallDataset data) : IClassFixture<SmallDataset>
{
    [Fact]
    public void DeclaredParametersAndSizeMultiplesAreThoseOfTheBuiltModels()
    {
        var wrong = new List<string>();
        foreach (var info in ModelRegistry.All)
        {
            foreach (var variant in info.Variants)
            {
                using var model = ModelRegistry.Create(info.Name, new ModelOptions(3, 1, variant.Name));
                if (model.ParameterCount() != variant.Parameters) wrong.Add($"{info.Name}:{variant.Name} has {model.ParameterCount():N0} parameters, declared {variant.Parameters:N0}");
                if (model.SizeMultiple != info.SizeMultiple) wrong.Add($"{info.Name}:{variant.Name} size multiple {model.SizeMultiple}, declared {info.SizeMultiple}");
                if (model is IVariantModel v && v.Variant != variant.Name) wrong.Add($"{info.Name}: variant {variant.Name} built as {v.Variant}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));
    }

    [Fact]
    public void CheckNamesTheFieldOfAnUnknownVariantOrAnOptionTheModelDoesNotTake()
    {
        Assert.Empty(ModelRegistry.Check("unetplusplus", new ModelOptions(Variant: "small", DeepSupervision: true)));
        Assert.Empty(ModelRegistry.Check("unetplusplus", new ModelOptions(Variant: "deepsup"))); // old runs resume
        Assert.Empty(ModelRegistry.Check("SegFormer", new ModelOptions(Variant: "B1")));
        var variant = Assert.Single(ModelRegistry.Check("segformer", new ModelOptions(Variant: "b9")));
        Assert.Equal("Variant", variant.Field);
        Assert.Contains("b0, b1, b2", variant.Message);
        var option = Assert.Single(ModelRegistry.Check("unext", new ModelOptions(DeepSupervision: true)));
        Assert.Equal("DeepSupervision", option.Field);
        Assert.Contains("unetplusplus", option.Message);
        Assert.Equal("Model", Assert.Single(ModelRegistry.Check("resnet", new ModelOptions())).Field);
        Assert.DoesNotContain("deepsup", ModelRegistry.Get("unetplusplus").VariantNames); // accepted, no longer offered
    }

    [Fact]
    public void SettingsCheckReturnsEveryProblemWithItsField()
    {
        Assert.Empty(new TrainingSettings().Check());
        Assert.Empty(TrainingSettings.NewWebRun.Check());
        var errors = new TrainingSettings
        {
            Model = "unext", ImageSize = 100, Epochs = 0, Augmentation = "wild", Optimizer = "adam", Loss = "dice+nope", WarmupEpochs = 3,
            Schedule = "poly", Normalization = "per-image", WindowLow = 0, WindowHigh = 80, WeightDecay = 2,
            ModelOptions = new ModelOptions(Variant: "huge"),
        }.Check();
        var fields = errors.Select(e => e.Field).ToHashSet();
        Assert.Equal(["Augmentation", "Epochs", "ImageSize", "Loss", "Optimizer", "Variant", "WarmupEpochs", "WeightDecay", "WindowLow"],
            fields.Order(StringComparer.Ordinal));
        Assert.Contains("multiple of 32 for unext: try 96 or 128", errors.Single(e => e.Field == "ImageSize").Message);
        Assert.Contains("bce", Assert.Single(new TrainingSettings { Loss = "bce", ModelOptions = new ModelOptions(Classes: 3) }.Check()).Message);
    }

    [Fact]
    public void ToPlanCarriesEverySetting()
    {
        var settings = new TrainingSettings
        {
            Model = "unetplusplus", ModelOptions = new ModelOptions(4, 3, "small", DeepSupervision: true), Epochs = 7, BatchSize = 3, ImageSize = 64,
            LearningRate = 2e-3, Seed = 5, Augmentation = "strong", Optimizer = "sgd", Schedule = "poly", Loss = "dice+ce", EarlyStoppingPatience = 4,
            Resize = "letterbox", Normalization = "dataset", GradientClipNorm = 12, TimeBudgetHours = 2, WeightDecay = 0.05,
        };
        var plan = settings.ToPlan([], [], "/tmp/run");
        Assert.Equal((settings.Model, settings.ModelOptions, 7, 3, 64, 2e-3, 5), (plan.Model, plan.ModelOptions, plan.Epochs, plan.BatchSize, plan.ImageSize, plan.LearningRate, plan.Seed));
        Assert.Equal(("strong", "sgd", "poly", "dice+ce", (int?)4, (double?)12, 0.05), (plan.Augmentation.Name, plan.Optimizer, plan.Schedule, plan.Loss,
            plan.EarlyStoppingPatience, plan.GradientClipNorm, plan.WeightDecay));
        Assert.Equal(TimeSpan.FromHours(2), plan.TimeBudget);
        Assert.Equal(MedSeg.Engine.Data.Pipeline.ResizePolicy.Letterbox, plan.Preprocessing.Resize);
        // The settings read back from the plan are the same (the trainer checks them with the same rules).
        Assert.Equal(settings with { Resize = "stretch", Normalization = "per-image" }, TrainingSettings.Of(plan));
    }

    [Fact]
    public void UNetPlusPlusDeepSupervisionPutsTheLossOnEveryHeadAndPredictsTheirMean()
    {
        using var _ = NewDisposeScope();
        manual_seed(3);
        using var model = (MedSeg.Engine.Models.UNetPlusPlus.UNetPlusPlus)ModelRegistry.Create("unetplusplus", new ModelOptions(3, 1, "small", DeepSupervision: true));
        model.eval();
        var x = randn(2, 3, 32, 32);
        var target = (rand(2, 1, 32, 32) > 0.5).to_type(ScalarType.Float32);
        var heads = model.ForwardHeads(x);
        Assert.Equal(4, heads.Count);
        var mean = stack(heads).mean([0]);
        Assert.True(allclose(mean, model.call(x), 1e-5, 1e-5), "the prediction is the mean of the four heads' logits");
        using var criterion = LossFactory.Create("bce+dice", LossMode.Binary, 1);
        using var supervised = new DeepSupervisionLoss(LossFactory.Create("bce+dice", LossMode.Binary, 1), DeepSupervisionLoss.EqualWeights(4));
        var expected = heads.Select(h => criterion.call(h, target).item<float>()).Average();
        Assert.Equal(expected, supervised.call(heads, target).item<float>(), 4);
        // Not the loss of the averaged logits, which is what averaging the heads used to train.
        Assert.NotEqual(criterion.call(mean, target).item<float>(), expected, 4);
        using var plain = ModelRegistry.Create("unetplusplus", new ModelOptions(3, 1, "small"));
        Assert.Equal(1, ((IDeepSupervised)plain).HeadCount);
    }

    [Fact]
    public async Task TheTrainerTrainsUNetPlusPlusWithDeepSupervision()
    {
        var observer = new RecordingObserver();
        var plan = data.Plan("run-deep-supervision", epochs: 1) with
        {
            Model = "unetplusplus", ModelOptions = new ModelOptions(3, 1, "small", DeepSupervision: true),
        };
        var result = await new Trainer().RunAsync(plan, observer, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3));
        Assert.Equal(1, result.EpochsCompleted);
        Assert.Contains(observer.Logs, l => l.Contains("Deep supervision: the loss is the mean of the 4 heads' losses"));
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => new Trainer().RunAsync(plan with
        {
            Model = "unext", ModelOptions = new ModelOptions(DeepSupervision: true), RunDirectory = plan.RunDirectory + "-unext",
        }, observer, CancellationToken.None));
        Assert.Contains("DeepSupervision: unext has no deep supervision", refused.Message);
    }
}
