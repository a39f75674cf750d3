using MedSeg.Engine.Metrics;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;

namespace MedSeg.Engine.Inference;

/// <summary>What a finished run costs, measured once after its evaluation (the leaderboard's row): size at the run's input
/// size and batch-1 latency on this machine through the predictor's fast path. (Its scores, HD95 included, are the
/// evaluation's per-case metrics.)</summary>
/// <param name="Macs">Multiply-accumulates of one forward pass at <paramref name="ImageSize"/> (<see cref="Complexity"/>).</param>
/// <param name="LatencyMs">Median of the timed batch-1 passes (<see cref="Predictor.MeasureLatency"/>).</param>
/// <param name="Device">Where the latency was measured ("cpu", "cuda:0").</param>
public sealed record RunProfile(long Parameters, long Macs, int ImageSize, double LatencyMs, string Device)
{
    public double GMacs => Macs / 1e9;

    /// <summary>Measures an evaluated run folder.</summary>
    public static RunProfile Measure(string runDirectory, string device)
    {
        var manifest = RunManifest.Read(runDirectory);
        ModelComplexity complexity;
        using (var model = ModelRegistry.Create(manifest.Model, manifest.ModelOptions))
            complexity = Complexity.Measure(model, (int)manifest.ModelOptions.InChannels, manifest.ImageSize, manifest.ImageSize);
        using var predictor = Predictor.Load(runDirectory, device, InferenceOptions.Default);
        return new RunProfile(complexity.Parameters, complexity.Macs, manifest.ImageSize, predictor.MeasureLatency(), Devices.Resolve(device).ToString());
    }

    /// <summary>The run's validation HD95 in pixels from its evaluated cases: the mean over every (case, foreground class) whose
    /// value is defined, as <see cref="MetricAccumulator"/> summarises (an empty prediction or ground truth leaves the pair out;
    /// both empty count as 0); null when none is.</summary>
    public static double? Hd95(IEnumerable<CasePrediction> evaluated)
    {
        var values = evaluated.SelectMany(c => c.Classes).Select(k => k.Hd95).OfType<double>().ToList();
        return values.Count > 0 ? values.Average() : null;
    }
}
