using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Predictor.Load with InferenceOptions on a run folder written with the trainer's APIs (nothing is trained).</summary>
public sealed class PredictorOptionsTests : IDisposable
{
    private const int Size = 32;
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    private string WriteRun()
    {
        var run = dir["run"];
        manual_seed(12);
        using var net = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        using (no_grad())
        {
            net.train();
            net.call(randn(2, 3, Size, Size)).Dispose();
        }
        net.eval();
        new RunManifest("unext", net.Options, Size, 0.5, Preprocessing.Normalization, "bce+dice", "adamw", 1e-3, "cosine", 1, 2, 7,
            DateTimeOffset.UtcNow).Write(run);
        Checkpoints.Save(run, "best", net, null, new CheckpointState(1, 1, 0.5, 7, "test", [], DateTimeOffset.UtcNow));
        return run;
    }

    [Fact]
    public void FastPathPredictsTheSameMaskAsTheEagerModuleForEveryMode()
    {
        var run = WriteRun();
        var (image, _) = SyntheticData.Disc(70, 50, seed: 3);
        var path = dir["a.png"];
        SyntheticData.Write(path, image, 70, 50, 3);
        string[] paths = [path, path, path];
        foreach (var baseOptions in new[]
                 {
                     new InferenceOptions(),
                     new InferenceOptions { TestTimeAugmentation = true, BatchSize = 2 },
                     new InferenceOptions { Mode = PredictionMode.SlidingWindow, LargestComponent = true },
                 })
        {
            using var fast = Predictor.Load(run, "cpu", baseOptions);
            using var eager = Predictor.Load(run, "cpu", baseOptions with { FastPath = false, WarmUp = false });
            var a = fast.PredictMany(paths);
            var b = eager.PredictMany(paths);
            Assert.All(a, m => Assert.Equal((70, 50), (m.Width, m.Height)));
            Assert.Equal(a[0].Pixels, a[2].Pixels);
            var differing = a[0].Pixels.Zip(b[0].Pixels).Count(p => p.First != p.Second);
            Assert.True(differing <= 2, $"{baseOptions}: {differing} pixels differ"); // float rounding at the threshold only
        }
        using var legacy = Predictor.Load(run, "cpu");
        Assert.NotEmpty(legacy.PredictPng(path));
    }
}
