using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Models.Weights;
using MedSeg.Engine.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>State-dict files the weights tests write themselves (nothing is downloaded).</summary>
public static class TestWeightFiles
{
    /// <summary>Writes tensors as safetensors or torch.save's zip format, by the extension.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var dict = tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var stream = File.Create(path);
        if (path.EndsWith(".safetensors", StringComparison.Ordinal)) Safetensors.SaveStateDict(stream, dict);
        else PyTorchPickler.PickleStateDict(stream, dict);
    }

    /// <summary>Seeded random values in every tensor, so that a tensor left at its initial value cannot pass for a loaded one.</summary>
    public static void Randomise(nn.Module module, int seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (key, t) in module.state_dict())
        {
            if (!t.is_floating_point()) t.fill_(seed);
            else if (key.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(rand(t.shape, generator: generator).add_(0.5));
            else t.copy_(randn(t.shape, generator: generator).mul_(0.1));
        }
    }

    /// <summary>An ImageNet MiT-B0 file as NVlabs ship it: the SegFormer-B0 backbone under its own names, plus the classifier head.</summary>
    public static Dictionary<string, Tensor> MitB0(int seed = 1)
    {
        using var donor = ModelRegistry.Create("segformer", new ModelOptions(3, 1, "b0"));
        Randomise(donor, seed);
        var file = donor.state_dict().Where(kv => kv.Key.StartsWith("backbone.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["backbone.".Length..], kv => kv.Value.detach().clone());
        file["head.weight"] = randn(1000, 256);
        file["head.bias"] = randn(1000);
        return file;
    }

    /// <summary>torchvision ResNet-18 names (our encoder's keys) plus the classifier.</summary>
    public static Dictionary<string, Tensor> ResNet18(int seed = 1)
    {
        using var encoder = new ResNetEncoder("resnet18", 3);
        Randomise(encoder, seed);
        var file = encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        file["fc.weight"] = randn(1000, 512);
        file["fc.bias"] = randn(1000);
        return file;
    }
}

/// <summary>The fit rule (<see cref="WeightFit"/>) and the trainer's pretrained start (<see cref="TrainingPlan.PretrainedWeights"/>).</summary>
public sealed class WeightFitTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    [Fact]
    public void MitB0WeightsFitSegFormerB0AndNotB1NorAnotherModel()
    {
        var path = dir["mit_b0.safetensors"];
        TestWeightFiles.Write(path, TestWeightFiles.MitB0());
        using var file = StateDictFile.Read(path);

        var b0 = WeightFit.Check(file, "segformer", "b0");
        var b1 = WeightFit.Check(file, "segformer", "b1");
        var unext = WeightFit.Check(file, "unext", null);

        Assert.True(b0.Fits, b0.Report);
        Assert.Equal(("segformer", "b0", "mit"), (b0.Model, b0.Variant, b0.Mapping));
        Assert.Equal(file.Tensors.Count - 2, b0.Loaded);
        Assert.Equal((2, 0, 0, 0), (b0.Ignored, b0.Unexpected, b0.ShapeMismatches, b0.Missing));
        Assert.Equal(b0.Loaded, b0.ScopeTensors);
        Assert.Equal("segformer b0", b0.Target);
        Assert.Contains("100 %", b0.Summary);
        Assert.False(b1.Fits, b1.Summary);
        Assert.True(b1.ShapeMismatches > 0);
        Assert.False(unext.Fits, unext.Summary);
        Assert.Equal("default", unext.Variant);
    }

    [Fact]
    public void FitNeedsNinetyPercentOfTheFileAndNinetyPercentOfTheEncoder()
    {
        var full = TestWeightFiles.ResNet18();
        var fullPath = dir["resnet18.safetensors"];
        TestWeightFiles.Write(fullPath, full);
        // The stem and layer1 only: everything in the file loads, but it covers a small part of the encoder.
        var partialPath = dir["partial.safetensors"];
        TestWeightFiles.Write(partialPath, full.Where(kv => !kv.Key.StartsWith("layer2") && !kv.Key.StartsWith("layer3") && !kv.Key.StartsWith("layer4"))
            .ToDictionary());
        // The whole encoder, and as many tensors again that the model has no place for.
        var paddedPath = dir["padded.safetensors"];
        var padded = new Dictionary<string, Tensor>(full);
        foreach (var (key, t) in full.Where(kv => kv.Key.StartsWith("layer4")).ToList()) padded["layer9" + key["layer4".Length..]] = t;
        foreach (var (key, t) in full.Where(kv => kv.Key.StartsWith("layer3")).ToList()) padded["layer8" + key["layer3".Length..]] = t;
        TestWeightFiles.Write(paddedPath, padded);

        WeightFitResult Fit(string path)
        {
            using var file = StateDictFile.Read(path);
            return WeightFit.Check(file, "pspnet", "resnet18");
        }
        var whole = Fit(fullPath);
        var partial = Fit(partialPath);
        var extra = Fit(paddedPath);

        Assert.True(whole.Fits, whole.Report);
        Assert.Equal((full.Count - 2, 2), (whole.Loaded, whole.Ignored));
        Assert.False(partial.Fits, partial.Summary);
        Assert.Equal(1.0, partial.FileFraction);
        Assert.True(partial.ScopeFraction < WeightFit.Threshold);
        Assert.True(partial.Missing > 0);
        Assert.False(extra.Fits, extra.Summary);
        Assert.Equal(1.0, extra.ScopeFraction);
        Assert.True(extra.FileFraction < WeightFit.Threshold);
        Assert.True(extra.Unexpected > 0);
    }

    [Fact]
    public void TargetsAreEveryRegisteredModelWithEachOfItsVariants()
    {
        var targets = WeightFit.Targets;
        Assert.Equal(ModelRegistry.Names.Order(), targets.Select(t => t.Model).Distinct().Order());
        Assert.Contains(("segformer", "b2"), targets);
        Assert.Contains(("deeplabv3plus", "mobilenetv2"), targets);
        Assert.Contains(("pspnet", "resnet18"), targets);
        Assert.Equal(targets.Count, targets.Distinct().Count());
        foreach (var (model, variant) in targets)
            Assert.Equal(variant, WeightFit.ResolveVariant(model, variant));
    }

    [Fact]
    public async Task TrainerStartsFromThePretrainedWeightsOnAFreshStartAndNotOnResume()
    {
        // A whole-model UNeXt state dict (a MedSeg export has this shape): identity key map.
        using var donor = ModelRegistry.Create("unext");
        TestWeightFiles.Randomise(donor, 7);
        var weights = donor.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        var path = dir["unext.safetensors"];
        TestWeightFiles.Write(path, weights);
        var train = SyntheticData.CreateDataset(dir["data"], 4, 32, 32, seed: 0);
        var validation = SyntheticData.CreateDataset(dir["data"], 2, 32, 32, seed: 50);
        var plan = new TrainingPlan
        {
            Model = "unext", Epochs = 1, BatchSize = 2, ImageSize = 32, Device = "cpu", Threads = 1,
            // A vanishing step without weight decay: the trained weights stay the file's to within 1e-6.
            LearningRate = 1e-12, WeightDecay = 0, Schedule = "constant",
            Train = train, Validation = validation, RunDirectory = dir["run"],
            PretrainedWeights = new PretrainedWeightsSource(path),
        };
        var observer = new RecordingObserver();

        await new Trainer().RunAsync(plan, observer, CancellationToken.None);

        var log = Assert.Single(observer.Logs, l => l.StartsWith("Pretrained weights unext.safetensors", StringComparison.Ordinal));
        Assert.Contains($"loaded {weights.Count}", log);
        Assert.Contains("key map identity", log);
        using var trained = ModelRegistry.Create("unext");
        trained.load(Checkpoints.Weights(plan.RunDirectory, "last"));
        var state = trained.state_dict();
        var convs = weights.Where(kv => kv.Value.dim() == 4).Select(kv => kv.Key).ToList();
        Assert.NotEmpty(convs);
        foreach (var key in convs)
            Assert.True(state[key].allclose(weights[key], rtol: 0, atol: 1e-6), key);

        // Resuming reads the checkpoint, not the weights file (here one that no longer exists).
        var resumed = new RecordingObserver();
        await new Trainer().RunAsync(plan with { Epochs = 2, PretrainedWeights = new PretrainedWeightsSource(dir["gone.safetensors"]) },
            resumed, CancellationToken.None);
        Assert.DoesNotContain(resumed.Logs, l => l.StartsWith("Pretrained weights", StringComparison.Ordinal));
        Assert.Contains(resumed.Logs, l => l.StartsWith("Resuming from the checkpoint", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TrainerRefusesPretrainedWeightsThatLoadNothing()
    {
        var path = dir["odd.safetensors"];
        TestWeightFiles.Write(path, new Dictionary<string, Tensor> { ["odd.weight"] = randn(7, 5), ["odd.bias"] = randn(7) });
        var data = SyntheticData.CreateDataset(dir["data"], 3, 32, 32);
        var plan = new TrainingPlan
        {
            Model = "unext", Epochs = 1, BatchSize = 2, ImageSize = 32, LearningRate = 1e-3, Device = "cpu", Threads = 1,
            Train = data, Validation = data, RunDirectory = dir["run"], PretrainedWeights = new PretrainedWeightsSource(path),
        };

        var error = await Assert.ThrowsAsync<TrainingFailedException>(() => new Trainer().RunAsync(plan, NullTrainingObserver.Instance, CancellationToken.None));

        Assert.Contains("odd.safetensors loaded no tensor into unext", error.Message);
        Assert.Contains("odd.weight", error.Message);
    }
}
