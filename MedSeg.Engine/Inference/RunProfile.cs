using MedSeg.Engine.Data;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;

namespace MedSeg.Engine.Inference;

/// <summary>What a finished run costs and scores, measured once after its evaluation (the leaderboard's row): size at the
/// run's input size, batch-1 latency on this machine through the predictor's fast path, and the validation HD95.</summary>
/// <param name="Macs">Multiply-accumulates of one forward pass at <paramref name="ImageSize"/> (<see cref="Complexity"/>).</param>
/// <param name="LatencyMs">Median of the timed batch-1 passes (<see cref="Predictor.MeasureLatency"/>).</param>
/// <param name="Device">Where the latency was measured ("cpu", "cuda:0").</param>
/// <param name="Hd95">Mean HD95 in pixels (medpy convention) over the validation cases and foreground classes whose value is
/// defined (<see cref="MetricAccumulator"/>: an empty prediction or ground truth leaves the case out); null when none is.</param>
public sealed record RunProfile(long Parameters, long Macs, int ImageSize, double LatencyMs, string Device, double? Hd95, int Hd95Cases)
{
    public double GMacs => Macs / 1e9;

    /// <summary>Measures a run folder after its evaluation wrote <c>{predictionsDirectory}/{case}.png</c> for
    /// <paramref name="validation"/>.</summary>
    public static RunProfile Measure(string runDirectory, string device, IReadOnlyList<TrainingCase> validation, string predictionsDirectory,
        CancellationToken ct = default)
    {
        var manifest = RunManifest.Read(runDirectory);
        ModelComplexity complexity;
        using (var model = ModelRegistry.Create(manifest.Model, manifest.ModelOptions))
            complexity = Complexity.Measure(model, (int)manifest.ModelOptions.InChannels, manifest.ImageSize, manifest.ImageSize);
        double latency;
        string where;
        using (var predictor = Predictor.Load(runDirectory, device, InferenceOptions.Default))
        {
            latency = predictor.MeasureLatency();
            where = Devices.Resolve(device).ToString();
        }
        var classes = (int)manifest.ModelOptions.Classes;
        var accumulator = new MetricAccumulator(new MetricAccumulatorOptions { NumClasses = Math.Max(2, classes) });
        foreach (var c in validation)
        {
            ct.ThrowIfCancellationRequested();
            var path = Path.Combine(predictionsDirectory, c.Name + ".png");
            if (!File.Exists(path)) continue;
            var (predicted, truth) = classes == 1
                ? (MaskReader.Read(path), MaskReader.Read(c.MaskPath))
                : (MaskReader.ReadLabels(path), MaskReader.ReadLabels(c.MaskPath));
            if (predicted.Width != truth.Width || predicted.Height != truth.Height) continue;
            accumulator.Update(predicted.Pixels, truth.Pixels, truth.Height, truth.Width);
        }
        var hd95 = accumulator.Compute()[SegmentationMetric.Hd95];
        return new RunProfile(complexity.Parameters, complexity.Macs, manifest.ImageSize, latency, where,
            hd95.Included > 0 ? hd95.Mean : null, hd95.Included);
    }
}
