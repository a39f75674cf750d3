using System.Text.Json;
using System.Text.Json.Serialization;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;

namespace MedSeg.Web.Features.Experiments;

/// <summary>The split rule recorded with an experiment: a saved split's id, name, kind and fold, or none (the random split
/// of the seed, grouped by source volume when the cases have one).</summary>
public sealed record SplitConfig(double ValidationFraction, string Rule, Guid? SplitId = null, string? Name = null, string? Kind = null, int? Fold = null);

/// <summary>The dataset an experiment was launched on, as it was then: the version used, its content hash and case count.</summary>
public sealed record DatasetRef(Guid Id, string Name, string? ContentHash, int CaseCount, int Version = 1);

/// <summary>
/// <see cref="MedSeg.Data.Entities.Experiment.ConfigJson"/>: the launch options, snapshotted at launch and read back by
/// <see cref="TrainExperimentJob"/>. Serialized and deserialized only here (<see cref="Serialize"/>, <see cref="Parse"/>).
/// The defaults of the training options are those of experiments launched before they were recorded (flips, adamw,
/// weight decay 1e-4, cosine without warm-up, bce+dice, no clipping, no early stopping, no time budget, stretch,
/// per-image z-score), so an old experiment that resumes trains as it started.
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
    /// <summary>A <see cref="PipelineNames.ResizeNames"/> name.</summary>
    public string Resize { get; init; } = "stretch";
    /// <summary>A <see cref="PipelineNames.NormalizationNames"/> name; dataset/ct statistics are resolved by the trainer.</summary>
    public string Normalization { get; init; } = "per-image";
    /// <summary>With <see cref="Normalization"/> ct: a fixed window (e.g. −160 … 240 HU, soft tissue), clipped and scaled to
    /// [0, 1]; null = nnU-Net's window from the training foreground's 0.5/99.5 percentiles with foreground z-score.</summary>
    public double? WindowLow { get; init; }
    public double? WindowHigh { get; init; }
    public int WarmupEpochs { get; init; }
    /// <summary>0 = off.</summary>
    public double GradientClipNorm { get; init; }
    /// <summary>Training time over the whole experiment (resumes included), in hours; 0 = none.</summary>
    public double TimeBudgetHours { get; init; }
    public double WeightDecay { get; init; } = Trainer.WeightDecay;
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

    /// <summary>The time budget, or null when there is none.</summary>
    [JsonIgnore]
    public TimeSpan? TimeBudget => TimeBudgetHours > 0 ? TimeSpan.FromHours(TimeBudgetHours) : null;

    /// <summary>Applies the training options to a plan. <see cref="TrainingPlan.TimeBudget"/> gets the whole budget; the job
    /// subtracts what earlier runs of the experiment spent.</summary>
    public TrainingPlan ApplyTo(TrainingPlan plan) => plan with
    {
        Augmentation = AugmentationOptions.Parse(Augmentation),
        Optimizer = Optimizer,
        WeightDecay = WeightDecay,
        Schedule = Schedule,
        WarmupEpochs = WarmupEpochs,
        GradientClipNorm = GradientClipNorm > 0 ? GradientClipNorm : null,
        Loss = Loss,
        EarlyStoppingPatience = EarlyStoppingPatience > 0 ? EarlyStoppingPatience : null,
        TimeBudget = TimeBudget,
        Preprocessing = new PreprocessingOptions(PipelineNames.ParseResize(Resize), EngineNormalization),
    };

    /// <summary>The engine's normalization: a ct with a fixed window carries its values (CtWindow without mean/std).</summary>
    [JsonIgnore]
    public IntensityNormalization EngineNormalization =>
        PipelineNames.ParseNormalization(Normalization) is { Mode: NormalizationMode.CtWindow } && WindowLow is { } low && WindowHigh is { } high
            ? IntensityNormalization.Window([low], [high])
            : PipelineNames.ParseNormalization(Normalization);
}

/// <summary>A named CT window (Hounsfield units).</summary>
public sealed record CtWindowPreset(string Name, double Low, double High);

/// <summary>The launch options' valid values and checks, shared by the API and the form (field errors name the valid values).</summary>
public static class LaunchOptions
{
    public const string DefaultAugmentation = "light";
    public const string DefaultOptimizer = "adamw";
    public const string DefaultSchedule = "cosine";
    public const string DefaultLoss = "bce+dice";
    public const string DefaultResize = "stretch";
    public const string DefaultNormalization = "per-image";
    public const double DefaultWeightDecay = Trainer.WeightDecay;
    public const double MaxTimeBudgetHours = 1000;

    /// <summary>Fixed CT windows in Hounsfield units (the form's presets for the ct normalization; the first is suggested).</summary>
    public static IReadOnlyList<CtWindowPreset> CtWindowPresets { get; } =
    [
        new("soft tissue", -160, 240),
        new("lung", -1000, 400),
        new("bone", -500, 1300),
        new("brain", 0, 80),
    ];

    /// <summary>The CT window: both bounds or neither (neither = from the training foreground), finite, low below high, only with
    /// the ct normalization. Null when valid, else the field error.</summary>
    public static string? CheckWindow(string normalization, double? low, double? high)
    {
        if (low is null && high is null) return null;
        if (normalization.Trim().ToLowerInvariant() != "ct")
            return $"A CT window applies only to the ct normalization; clear the window bounds for {normalization}.";
        if (low is null || high is null) return "Give both window bounds (low and high, in stored values such as HU), or neither for the window from the training foreground.";
        if (!double.IsFinite(low.Value) || !double.IsFinite(high.Value) || Math.Abs(low.Value) > 1e6 || Math.Abs(high.Value) > 1e6)
            return "The window bounds must be numbers between −1000000 and 1000000.";
        return high > low ? null : $"The window's high bound ({high}) must be above its low bound ({low}).";
    }

    public static IReadOnlyList<string> Augmentations => AugmentationOptions.PresetNames;
    public static IReadOnlyList<string> OptimizerNames => Optimizers.Names;
    public static IReadOnlyList<string> ScheduleNames => Schedules.Names;
    public static IReadOnlyList<string> ResizeNames => PipelineNames.ResizeNames;
    public static IReadOnlyList<string> NormalizationNames => PipelineNames.NormalizationNames;
    /// <summary>Loss specs offered by the form; any other valid <see cref="LossFactory"/> spec is accepted by the API.</summary>
    public static IReadOnlyList<string> SuggestedLosses { get; } = ["bce+dice", "dice+ce", "dice+focal", "tversky", "focal", "dice"];

    /// <summary>Null for a valid value, else the field error message.</summary>
    /// <summary>A preset (the form's choices) or, through the API, a preset with overrides such as
    /// "strong, ElasticProbability=0.2" (<see cref="AugmentationOptions.Parse"/>).</summary>
    public static string? CheckAugmentation(string value)
    {
        try
        {
            AugmentationOptions.Parse(value);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    public static string? CheckOptimizer(string value) => OneOf(value, OptimizerNames, "optimizer");

    public static string? CheckSchedule(string value) => OneOf(value, ScheduleNames, "schedule");

    public static string? CheckResize(string value) => OneOf(value, ResizeNames, "resize policy");

    /// <summary>Only the listed names (the engine's aliases such as zscore are not offered).</summary>
    public static string? CheckNormalization(string value) => OneOf(value, NormalizationNames, "normalization");

    /// <summary>Null when <paramref name="value"/> is one of <paramref name="names"/> (case-insensitive, trimmed), else the
    /// field error naming the valid values.</summary>
    private static string? OneOf(string value, IReadOnlyList<string> names, string what) =>
        names.Contains(value.Trim().ToLowerInvariant()) ? null
            : $"Unknown {what} '{value}'. Choose one of: {string.Join(", ", names)}.";

    /// <summary>Warm-up must leave at least one cosine epoch, and means nothing to the other schedules.</summary>
    public static string? CheckWarmup(int warmupEpochs, int epochs, string schedule) =>
        warmupEpochs <= 0 ? null
            : epochs > 0 && warmupEpochs >= epochs ? $"Warm-up must be below the number of epochs ({epochs}), or 0 for none."
            : schedule.Trim().ToLowerInvariant() != "cosine" ? $"Warm-up applies only to the cosine schedule; set it to 0 for {schedule}."
            : null;

    /// <summary>Why <paramref name="value"/> is no loss for a model with <paramref name="classes"/> outputs (Binary mode for 1,
    /// Multiclass for a label map, where bce is refused), naming the valid ones; null when it is one.</summary>
    public static string? CheckLoss(string value, int classes = 1)
    {
        try
        {
            using var _ = classes <= 1 ? LossFactory.Create(value, LossMode.Binary, 1) : LossFactory.Create(value, LossMode.Multiclass, classes);
            return null;
        }
        catch (ArgumentException e)
        {
            if (classes > 1)
                return $"Invalid loss '{value}' for this {classes}-class dataset (a label map: softmax over the classes): {e.Message.Split(" (Parameter")[0]} " +
                       $"Valid names: {string.Join(", ", LossFactory.Names.Where(n => n != "bce"))} (bce is for binary datasets); " +
                       $"combine terms with '+' (e.g. {TrainingPlan.DefaultMulticlassLoss}, the default, or dice+focal).";
            return $"Invalid loss '{value}'. Valid names: {string.Join(", ", LossFactory.Names)}; combine terms with '+' " +
                   "(e.g. bce+dice, dice+focal, tversky:0.3,0.7).";
        }
    }

    /// <summary>An image size from the dataset's sizes: the multiple of <paramref name="sizeMultiple"/> nearest to the
    /// median-ish size √(mid W · mid H) (mid = (min + max) / 2, the summary has no median), within
    /// [<paramref name="sizeMultiple"/>, <paramref name="maxSize"/>].</summary>
    public static int SuggestImageSize(int minWidth, int maxWidth, int minHeight, int maxHeight, int sizeMultiple, int maxSize = LaunchSuggestions.CpuMaxSize)
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
