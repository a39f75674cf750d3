using MedSeg.Engine.Export;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Weights;
using MedSeg.Engine.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Export of a run folder written with the trainer's own APIs (RunManifest, Checkpoints); nothing is trained.</summary>
public sealed class ExportTests : IDisposable
{
    private const int Size = 64;
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>A run folder as the trainer leaves it after one epoch: run.json and checkpoints/best.*, with weights and
    /// BatchNorm statistics moved away from their initial values (a few training-mode forward passes).</summary>
    private SegmentationModel WriteRun(string runDirectory, string model, ModelOptions options)
    {
        manual_seed(11);
        var net = ModelRegistry.Create(model, options);
        using (no_grad())
        {
            foreach (var p in net.parameters()) p.add_(randn_like(p).mul_(0.01));
            net.train();
            for (var i = 0; i < 2; i++)
            {
                using var scope = NewDisposeScope();
                net.call(randn(2, options.InChannels, Size, Size));
            }
        }
        net.eval();
        new RunManifest(model, options, Size, 0.5, Preprocessing.Normalization, "bce+dice", "adamw", 1e-3, "cosine", 1, 2, 7,
            DateTimeOffset.UtcNow).Write(runDirectory);
        Checkpoints.Save(runDirectory, "best", net, null,
            new CheckpointState(1, 1, 0.42, 7, "test", [], DateTimeOffset.UtcNow));
        return net;
    }

    private static Tensor Predict(nn.Module<Tensor, Tensor> model, Tensor input)
    {
        using var noGrad = no_grad();
        model.eval();
        return model.call(input);
    }

    [Theory]
    [InlineData("unext", "s")]
    [InlineData("segformer", "b0")]
    public void ExportedStateDictsReproduceTheModelExactly(string name, string variant)
    {
        var options = new ModelOptions(3, 1, variant);
        var run = dir["run"];
        using var trained = WriteRun(run, name, options);
        manual_seed(5);
        using var input = randn(2, 3, Size, Size);
        using var expected = Predict(trained, input);

        var result = ModelExporter.Export(run, dir["export"]);

        foreach (var f in new[] { result.TorchSharpPath, result.PyTorchPath, result.SafetensorsPath, result.ManifestPath })
            Assert.True(File.Exists(f), f);
        Assert.Empty(Directory.GetFiles(result.OutputDirectory, "*.tmp"));

        manual_seed(99); // fresh models start from other random weights
        using var fromPt = ModelRegistry.Create(name, options);
        using var fromSafetensors = ModelRegistry.Create(name, options);
        using var fromDat = ModelRegistry.Create(name, options);
        using var viaWeights = ModelRegistry.Create(name, options);
        using (var untrained = Predict(fromPt, input)) Assert.False(untrained.Equals(expected));

        fromPt.load_py(result.PyTorchPath, strict: true);
        fromSafetensors.load_safetensors(result.SafetensorsPath, strict: true);
        fromDat.load(result.TorchSharpPath);
        var report = PretrainedWeights.LoadInto(viaWeights, result.PyTorchPath);

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal("identity", report.Mapping);
        Assert.Equal(trained.state_dict().Count, report.Loaded.Count);
        foreach (var (label, model) in new (string, nn.Module<Tensor, Tensor>)[]
                 { ("model.pt", fromPt), ("model.safetensors", fromSafetensors), ("model.dat", fromDat), ("LoadInto", viaWeights) })
        {
            using var output = Predict(model, input);
            Assert.True(output.Equals(expected), $"{label}: outputs differ from the trained model's");
        }
    }

    [Fact]
    public void ModelJsonDescribesArchitecturePreprocessingDecisionAndEveryKey()
    {
        var options = new ModelOptions(1, 1, "s");
        var run = dir["run"];
        using var trained = WriteRun(run, "unext", options);

        var result = ModelExporter.Export(run, dir["export"]);
        var manifest = ModelExporter.ReadManifest(result.OutputDirectory);

        Assert.Equal(ModelExporter.FormatVersion, manifest.Format);
        Assert.Equal(new ExportedArchitecture("unext", "s", 1, 1, 32, trained.ParameterCount(), manifest.Architecture.Reference),
            manifest.Architecture);
        Assert.Contains("UNeXt-pytorch", manifest.Architecture.Reference);
        Assert.Equal(new ExportedInput(Size, Size, "NCHW", "float32", "grey"), manifest.Input);
        Assert.Equal(Preprocessing.Normalization, manifest.Normalization);
        Assert.NotNull(manifest.Preprocessing);
        Assert.Equal(1e-6, manifest.Preprocessing.StdFloor);
        Assert.True(manifest.Preprocessing.Antialias);
        Assert.False(manifest.Preprocessing.AlignCorners);
        Assert.Equal(("sigmoid", "threshold", 0.5), (manifest.Output.Activation, manifest.Output.Decision, manifest.Output.Threshold));
        Assert.Equal([new ExportedClass(0, "background", null), new ExportedClass(1, "foreground", 0)], manifest.Output.ClassMap);
        Assert.Equal(("best", 1, 0.42), (manifest.Checkpoint.Tag, manifest.Checkpoint.Epoch, manifest.Checkpoint.BestValidationDice));
        Assert.Equal(("model.dat", "model.pt", "model.safetensors"), (manifest.Files.TorchSharp, manifest.Files.PyTorch, manifest.Files.Safetensors));
        Assert.Equal("unext", manifest.Run.Model);

        var state = trained.state_dict();
        Assert.Equal(state.Keys, manifest.StateDict.Select(t => t.Key));
        foreach (var t in manifest.StateDict)
        {
            Assert.Equal(state[t.Key].shape, t.Shape);
            Assert.Equal(t.Key.EndsWith("num_batches_tracked") ? "int64" : "float32", t.DType);
        }
        // The safetensors header lists the same keys and shapes as model.json.
        var tensors = Safetensors.LoadStateDict(result.SafetensorsPath);
        Assert.Equal(state.Keys.Order(), tensors.Keys.Order());
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void ExportFallsBackToLastAndRefusesARunWithoutCheckpoint()
    {
        var run = dir["run"];
        var options = new ModelOptions(3, 1, "s");
        using (var net = ModelRegistry.Create("unext", options))
        {
            new RunManifest("unext", options, Size, 0.5, Preprocessing.Normalization, "bce+dice", "adamw", 1e-3, "cosine", 1, 2, 7,
                DateTimeOffset.UtcNow).Write(run);
            Assert.Throws<FileNotFoundException>(() => ModelExporter.Export(run, dir["export"]));
            Checkpoints.Save(run, "last", net, null, new CheckpointState(3, 0, 0, 7, "test", [], DateTimeOffset.UtcNow));
        }

        var result = ModelExporter.Export(run, dir["export"]);

        Assert.Equal(("last", 3), (result.Manifest.Checkpoint.Tag, result.Manifest.Checkpoint.Epoch));
        Assert.Throws<FileNotFoundException>(() => ModelExporter.Export(dir["no-run"], dir["export2"]));
    }
}
