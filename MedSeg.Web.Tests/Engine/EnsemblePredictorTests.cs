using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using MedSeg.Web.Tests.Support;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>An ensemble averages its members' probabilities at the original size and refuses members that do not match.</summary>
public sealed class EnsemblePredictorTests : IDisposable
{
    private const int Size = 32;
    private readonly TempDirectory dir = new("medseg-ensemble");

    public void Dispose() => dir.Dispose();

    /// <summary>A run folder with random (seeded) weights, as the trainer leaves it: run.json and checkpoints/best.*.</summary>
    private string WriteRun(string name, int seed, int classes = 1)
    {
        var run = Path.Combine(dir.Path, name);
        manual_seed(seed);
        var options = new ModelOptions(3, classes, "s");
        using var net = ModelRegistry.Create("unext", options);
        net.eval();
        new RunManifest("unext", options, Size, 0.5, Preprocessing.Normalization, "bce+dice", "adamw", 1e-3, "cosine", 1, 2, seed,
            DateTimeOffset.UtcNow).Write(run);
        Checkpoints.Save(run, "best", net, null, new CheckpointState(1, 1, 0.5, seed, "test", [], DateTimeOffset.UtcNow));
        return run;
    }

    [Fact]
    public void TheEnsembleIsTheMeanOfItsMembersProbabilities()
    {
        var (a, b) = (WriteRun("a", 1), WriteRun("b", 2));
        var image = Path.Combine(dir.Path, "new.png");
        File.WriteAllBytes(image, SyntheticDataset.Case(new Random(4), 40, 24).Image);
        var options = new InferenceOptions { WarmUp = false };

        float[] pa, pb;
        using (var one = Predictor.Load(a, "cpu", options)) pa = one.PredictProbabilities([image])[0].Values;
        using (var two = Predictor.Load(b, "cpu", options)) pb = two.PredictProbabilities([image])[0].Values;
        Assert.NotEqual(pa, pb);

        using var ensemble = EnsemblePredictor.Load([a, b], "cpu", options);
        var mean = ensemble.PredictProbabilities([image])[0];
        Assert.Equal((1, 40, 24), (mean.Channels, mean.Width, mean.Height));
        for (var i = 0; i < mean.Values.Length; i++) Assert.Equal((pa[i] + pb[i]) / 2, mean.Values[i], 1e-6f);
        var mask = ensemble.PredictMany([image])[0];
        Assert.Equal(mean.Values.Select(p => p >= 0.5f ? (byte)1 : (byte)0), mask.Pixels);
    }

    [Fact]
    public void MembersWithOtherClassesAreRefusedByName()
    {
        var (binary, labels) = (WriteRun("binary", 1), WriteRun("labels", 2, classes: 3));
        var e = Assert.Throws<InvalidDataException>(() => EnsemblePredictor.Load([binary, labels], "cpu"));
        Assert.Contains("'labels' predicts 3 class channel(s) but 'binary' predicts 1", e.Message);
    }
}
