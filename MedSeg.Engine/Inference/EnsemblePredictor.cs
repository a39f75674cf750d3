using MedSeg.Engine.Data;
using MedSeg.Engine.Training;

namespace MedSeg.Engine.Inference;

/// <summary>
/// Several trained runs predicting as one (the k fold models of a group, or chosen runs of one dataset version): each member
/// predicts the probabilities at the image's original size with its own preprocessing (run.json), they are averaged with
/// equal weights, and the mean is thresholded (binary: at the mean of the members' thresholds) or arg-maxed. The members must
/// share their classes and input channels (<see cref="CheckCompatible"/>). Not thread-safe, as <see cref="Predictor"/>.
/// </summary>
public sealed class EnsemblePredictor : IDisposable
{
    private readonly Predictor[] members;

    private EnsemblePredictor(Predictor[] members)
    {
        this.members = members;
        Threshold = members.Average(m => m.Manifest.Threshold);
    }

    public IReadOnlyList<Predictor> Members => members;

    public int Classes => members[0].Classes;

    /// <summary>Binary ensembles: the mean of the members' thresholds (run.json); unused for multi-class ones.</summary>
    public double Threshold { get; }

    public InferenceOptions Options => members[0].Options;

    /// <summary>Why these runs cannot be averaged (different classes or input channels), naming them; null when they can.</summary>
    public static string? CheckCompatible(IReadOnlyList<(string Name, RunManifest Manifest)> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0) return "An ensemble needs at least one run.";
        var (firstName, first) = runs[0];
        foreach (var (name, manifest) in runs.Skip(1))
        {
            if (manifest.ModelOptions.Classes != first.ModelOptions.Classes)
                return $"'{name}' predicts {manifest.ModelOptions.Classes} class channel(s) but '{firstName}' predicts {first.ModelOptions.Classes}: " +
                       "ensemble members must share their classes (choose runs of the same dataset version).";
            if (manifest.ModelOptions.InChannels != first.ModelOptions.InChannels)
                return $"'{name}' takes {manifest.ModelOptions.InChannels} input channel(s) but '{firstName}' takes {first.ModelOptions.InChannels}: " +
                       "ensemble members must take the same input channels.";
        }
        return null;
    }

    /// <summary>Loads every run (best checkpoint, else last) with the same options; throws <see cref="InvalidDataException"/>
    /// with <see cref="CheckCompatible"/>'s message when the runs cannot be averaged.</summary>
    public static EnsemblePredictor Load(IReadOnlyList<string> runDirectories, string device = "auto", InferenceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(runDirectories);
        var manifests = runDirectories.Select(d => (Path.GetFileName(Path.TrimEndingDirectorySeparator(d)), RunManifest.Read(d))).ToList();
        if (CheckCompatible(manifests) is { } problem) throw new InvalidDataException(problem);
        var loaded = new List<Predictor>(runDirectories.Count);
        try
        {
            foreach (var dir in runDirectories) loaded.Add(Predictor.Load(dir, device, options));
            return new EnsemblePredictor([.. loaded]);
        }
        catch
        {
            foreach (var p in loaded) p.Dispose();
            throw;
        }
    }

    /// <summary>The members' mean probabilities of each image at its original size.</summary>
    public IReadOnlyList<ProbabilityMap> PredictProbabilities(IReadOnlyList<string> imagePaths, CancellationToken ct = default) =>
        Average(members.Select(m => m.PredictProbabilities(imagePaths, ct)).ToList());

    /// <summary><see cref="PredictProbabilities(IReadOnlyList{string}, CancellationToken)"/> of decoded images.</summary>
    public IReadOnlyList<ProbabilityMap> PredictRasterProbabilities(IReadOnlyList<Raster> rasters, CancellationToken ct = default) =>
        Average(members.Select(m => m.PredictRasterProbabilities(rasters, ct)).ToList());

    /// <summary>Masks at the original size (0/1 for binary, label indices otherwise) of the mean probabilities.</summary>
    public IReadOnlyList<BinaryMask> PredictMany(IReadOnlyList<string> imagePaths, CancellationToken ct = default) =>
        [.. PredictProbabilities(imagePaths, ct).Select(ToMask)];

    public IReadOnlyList<BinaryMask> PredictRasters(IReadOnlyList<Raster> rasters, CancellationToken ct = default) =>
        [.. PredictRasterProbabilities(rasters, ct).Select(ToMask)];

    public BinaryMask ToMask(ProbabilityMap probabilities) => Predictor.ToMask(probabilities, Classes, Threshold, Options.LargestComponent);

    /// <summary>Element-wise mean over members of the same images (same sizes: every member returns the original size).</summary>
    internal static IReadOnlyList<ProbabilityMap> Average(IReadOnlyList<IReadOnlyList<ProbabilityMap>> perMember)
    {
        var first = perMember[0];
        var result = new List<ProbabilityMap>(first.Count);
        for (var i = 0; i < first.Count; i++)
        {
            var sum = new double[first[i].Values.Length];
            foreach (var member in perMember)
            {
                var values = member[i].Values;
                if (values.Length != sum.Length)
                    throw new InvalidDataException($"Image {i}: the members' probabilities differ in size ({values.Length} and {sum.Length} values).");
                for (var k = 0; k < values.Length; k++) sum[k] += values[k];
            }
            var mean = new float[sum.Length];
            for (var k = 0; k < sum.Length; k++) mean[k] = (float)(sum[k] / perMember.Count);
            result.Add(first[i] with { Values = mean });
        }
        return result;
    }

    public void Dispose()
    {
        foreach (var m in members) m.Dispose();
    }
}
