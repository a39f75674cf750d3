using System.Text.Json;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Models;

namespace MedSeg.Engine.Training;

/// <summary>
/// <c>{RunDirectory}/run.json</c>: everything needed to rebuild the model and its input pipeline for prediction.
/// </summary>
public sealed record RunManifest(
    string Model,
    ModelOptions ModelOptions,
    int ImageSize,
    double Threshold,
    NormalizationInfo Normalization,
    string Loss,
    string Optimizer,
    double LearningRate,
    string Schedule,
    int Epochs,
    int BatchSize,
    int Seed,
    DateTimeOffset CreatedUtc,
    /// <summary>The plan's training options, exactly (null in run.json files written before they existed).</summary>
    TrainingRecipe? Recipe = null)
{
    public const string FileName = "run.json";

    /// <summary>The preprocessing the run was trained with (resolved normalization values included); the default pipeline
    /// for run.json files written before it was recorded.</summary>
    public PreprocessingOptions PreprocessingOptions => Recipe?.Preprocessing ?? PreprocessingOptions.Default;

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static RunManifest Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} does not exist: this folder holds no MedSeg training run.", path);
        return JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), Json)
               ?? throw new InvalidDataException($"{path} is empty.");
    }

    public void Write(string runDirectory) =>
        AtomicFile.WriteAllText(Path.Combine(runDirectory, FileName), JsonSerializer.Serialize(this, Json));
}

/// <summary>The <see cref="TrainingPlan"/> options that shape the training curve, as given (names lowercase).</summary>
public sealed record TrainingRecipe(
    string Optimizer,
    double WeightDecay,
    string Schedule,
    int WarmupEpochs,
    double? GradientClipNorm,
    string Loss,
    int? EarlyStoppingPatience,
    double MinDelta,
    TimeSpan? TimeBudget,
    string Precision,
    string Device,
    int? Threads,
    int TrainCases,
    int ValidationCases,
    /// <summary>Training augmentation (null in run.json files written before it was recorded: flips).</summary>
    AugmentationOptions? Augmentation = null,
    /// <summary>Resize policy + normalization with resolved values (null in older run.json files: the default pipeline).</summary>
    PreprocessingOptions? Preprocessing = null)
{
    /// <summary>The recipe of a plan whose preprocessing has been resolved (<paramref name="preprocessing"/>: no missing
    /// dataset statistics).</summary>
    public static TrainingRecipe From(TrainingPlan plan, PreprocessingOptions preprocessing) => new(
        Optimizers.Normalize(plan.Optimizer), plan.WeightDecay, Schedules.Normalize(plan.Schedule), plan.WarmupEpochs,
        plan.GradientClipNorm, plan.Loss.Trim(), plan.EarlyStoppingPatience, plan.MinDelta, plan.TimeBudget,
        plan.Precision.Trim().ToLowerInvariant(), plan.Device, plan.Threads, plan.Train.Count, plan.Validation.Count,
        plan.Augmentation, preprocessing);

    public static TrainingRecipe From(TrainingPlan plan) => From(plan, plan.Preprocessing);
}

/// <summary>
/// <c>{RunDirectory}/split.json</c>: the names of the training and validation cases of a run, written by the trainer at
/// every start, so that a run can be scored on exactly its validation cases later (<c>medseg evaluate --cases validation</c>).
/// </summary>
public sealed record RunSplit(IReadOnlyList<string> Training, IReadOnlyList<string> Validation)
{
    public const string FileName = "split.json";

    public static RunSplit From(TrainingPlan plan) =>
        new([.. plan.Train.Select(c => c.Name)], [.. plan.Validation.Select(c => c.Name)]);

    public void Write(string runDirectory) =>
        AtomicFile.WriteAllText(Path.Combine(runDirectory, FileName), JsonSerializer.Serialize(this, RunManifest.Json));

    /// <summary>The run's split, or null when the run predates split.json.</summary>
    public static RunSplit? Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path)) return null;
        return JsonSerializer.Deserialize<RunSplit>(File.ReadAllText(path), RunManifest.Json)
               ?? throw new InvalidDataException($"{path} is empty.");
    }
}

internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".partial";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
