using System.Text.Json;
using System.Text.Json.Serialization;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;

namespace MedSeg.Web.Features.Experiments;

/// <summary>The split rule recorded with an experiment.</summary>
public sealed record SplitConfig(double ValidationFraction, string Rule);

/// <summary>The dataset an experiment was launched on, as it was then.</summary>
public sealed record DatasetRef(Guid Id, string Name, string? ContentHash, int CaseCount);

/// <summary>
/// <see cref="MedSeg.Data.Entities.Experiment.ConfigJson"/>: the launch options, snapshotted at launch and read back by
/// <see cref="TrainExperimentJob"/>. Serialized and deserialized only here (<see cref="Serialize"/>, <see cref="Parse"/>).
/// The defaults of the training options are those of experiments launched before they were recorded (flips, adamw,
/// cosine, bce+dice, no early stopping), so an old experiment that resumes trains as it started.
/// </summary>
public sealed record ExperimentConfig
{
    public string Model { get; init; } = "unext";
    public ModelOptions ModelOptions { get; init; } = new(InChannels: 3, Classes: 1);
    public int Epochs { get; init; }
    public int BatchSize { get; init; }
    public int ImageSize { get; init; }
    public double LearningRate { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>A <see cref="AugmentationOptions.Parse"/> preset name.</summary>
    public string Augmentation { get; init; } = "flips";
    /// <summary>An <see cref="Optimizers"/> name.</summary>
    public string Optimizer { get; init; } = "adamw";
    /// <summary>A <see cref="Schedules"/> name.</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>A <see cref="LossFactory"/> spec (Binary mode).</summary>
    public string Loss { get; init; } = "bce+dice";
    /// <summary>Epochs without validation-Dice gain before stopping; 0 = off.</summary>
    public int EarlyStoppingPatience { get; init; }
    public SplitConfig? Split { get; init; }
    public DatasetRef? Dataset { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a ConfigJson (case-insensitive; missing options take the defaults above).</summary>
    public static ExperimentConfig Parse(string? json) =>
        string.IsNullOrWhiteSpace(json) ? new ExperimentConfig() : JsonSerializer.Deserialize<ExperimentConfig>(json, Json) ?? new ExperimentConfig();

    /// <summary>Applies the training options to a plan.</summary>
    public TrainingPlan ApplyTo(TrainingPlan plan) => plan with
    {
        Augmentation = AugmentationOptions.Parse(Augmentation),
        Optimizer = Optimizer,
        Schedule = Schedule,
        Loss = Loss,
        EarlyStoppingPatience = EarlyStoppingPatience > 0 ? EarlyStoppingPatience : null,
    };
}

/// <summary>The launch options' valid values and checks, shared by the API and the form (field errors name the valid values).</summary>
public static class LaunchOptions
{
    public const string DefaultAugmentation = "light";
    public const string DefaultOptimizer = "adamw";
    public const string DefaultSchedule = "cosine";
    public const string DefaultLoss = "bce+dice";
    /// <summary>Suggested image sizes are capped here on the CPU (training cost grows with S²).</summary>
    public const int CpuMaxSuggestedSize = 256;

    public static IReadOnlyList<string> Augmentations => AugmentationOptions.PresetNames;
    public static IReadOnlyList<string> OptimizerNames => Optimizers.Names;
    public static IReadOnlyList<string> ScheduleNames => Schedules.Names;
    /// <summary>Loss specs offered by the form; any other valid <see cref="LossFactory"/> spec is accepted by the API.</summary>
    public static IReadOnlyList<string> SuggestedLosses { get; } = ["bce+dice", "dice+ce", "dice+focal", "tversky", "focal", "dice"];

    /// <summary>Null for a valid value, else the field error message.</summary>
    public static string? CheckAugmentation(string value) =>
        Augmentations.Contains(value.Trim().ToLowerInvariant()) ? null
            : $"Unknown augmentation '{value}'. Choose one of: {string.Join(", ", Augmentations)}.";

    public static string? CheckOptimizer(string value) =>
        OptimizerNames.Contains(value.Trim().ToLowerInvariant()) ? null
            : $"Unknown optimizer '{value}'. Choose one of: {string.Join(", ", OptimizerNames)}.";

    public static string? CheckSchedule(string value) =>
        ScheduleNames.Contains(value.Trim().ToLowerInvariant()) ? null
            : $"Unknown schedule '{value}'. Choose one of: {string.Join(", ", ScheduleNames)}.";

    public static string? CheckLoss(string value)
    {
        try
        {
            using var _ = LossFactory.Create(value, LossMode.Binary, 1);
            return null;
        }
        catch (ArgumentException)
        {
            return $"Invalid loss '{value}'. Valid names: {string.Join(", ", LossFactory.Names)}; combine terms with '+' " +
                   "(e.g. bce+dice, dice+focal, tversky:0.3,0.7).";
        }
    }

    /// <summary>An image size from the dataset's sizes: the multiple of <paramref name="sizeMultiple"/> nearest to the
    /// median-ish size √(mid W · mid H) (mid = (min + max) / 2, the summary has no median), within
    /// [<paramref name="sizeMultiple"/>, <paramref name="maxSize"/>].</summary>
    public static int SuggestImageSize(int minWidth, int maxWidth, int minHeight, int maxHeight, int sizeMultiple, int maxSize = CpuMaxSuggestedSize)
    {
        sizeMultiple = Math.Max(1, sizeMultiple);
        var w = Math.Max(1, (minWidth + maxWidth) / 2.0);
        var h = Math.Max(1, (minHeight + maxHeight) / 2.0);
        var target = Math.Sqrt(w * h);
        var cap = Math.Max(sizeMultiple, maxSize / sizeMultiple * sizeMultiple);
        var size = (int)Math.Round(target / sizeMultiple) * sizeMultiple;
        return Math.Clamp(size, sizeMultiple, cap);
    }
}
