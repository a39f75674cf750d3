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

/// <summary>The pretrained weights an experiment starts from: the library file's id, name and content hash as launched.</summary>
public sealed record WeightsRef(Guid Id, string Name, string Sha256);

/// <summary>The dataset an experiment was launched on, as it was then: the version used, its content hash and case count.</summary>
public sealed record DatasetRef(Guid Id, string Name, string? ContentHash, int CaseCount, int Version = 1);

/// <summary>
/// <see cref="MedSeg.Data.Entities.Experiment.ConfigJson"/>: the experiment's snapshot, which is its plan: the engine's
/// <see cref="TrainingSettings"/> as launched (model, options, every training option; their defaults read an old snapshot as it
/// trained) plus the split and the dataset version. <see cref="TrainExperimentJob"/> trains its <see cref="TrainingSettings.ToPlan"/>; the
/// experiment's columns (model, epochs, batch, size, learning rate, seed, variant) are only a read model for lists. Serialized
/// and deserialized only here (<see cref="Serialize"/>, <see cref="Parse"/>).
/// </summary>
public sealed record ExperimentConfig : TrainingSettings
{
    public ExperimentConfig()
    {
    }

    /// <summary>A snapshot of <paramref name="settings"/>, split and dataset to be set with <c>init</c>.</summary>
    public ExperimentConfig(TrainingSettings settings) : base(settings)
    {
    }

    public SplitConfig? Split { get; init; }
    public DatasetRef? Dataset { get; init; }
    /// <summary>Pretrained encoder weights loaded on the fresh start (not on a resume: the checkpoint holds them); null = from scratch.</summary>
    public WeightsRef? Weights { get; init; }
    /// <summary>The device the run asked for (<see cref="LaunchRequest.Device"/>); null = the executing node's default.</summary>
    public string? Device { get; init; }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    /// <summary>The snapshot of <paramref name="experiment"/>. A snapshot older than the typed ConfigJson has no core values:
    /// those come from the experiment's columns, written at the same launch.</summary>
    public static ExperimentConfig Of(MedSeg.Data.Entities.Experiment experiment)
    {
        var config = Parse(experiment.ConfigJson);
        if (HasProperty(experiment.ConfigJson, "epochs")) return config;
        return config with
        {
            Model = experiment.Model, Epochs = experiment.Epochs, BatchSize = experiment.BatchSize, ImageSize = experiment.ImageSize,
            LearningRate = experiment.LearningRate, Seed = experiment.Seed,
        };
    }

    private static bool HasProperty(string? json, string name)
    {
        if (string.IsNullOrWhiteSpace(json)) return false;
        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind == JsonValueKind.Object &&
               document.RootElement.EnumerateObject().Any(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Reads a ConfigJson (case-insensitive; missing options take the defaults of <see cref="TrainingSettings"/>).</summary>
    public static ExperimentConfig Parse(string? json) =>
        string.IsNullOrWhiteSpace(json) ? new ExperimentConfig() : JsonSerializer.Deserialize<ExperimentConfig>(json, Json) ?? new ExperimentConfig();
}

/// <summary>A named CT window (Hounsfield units).</summary>
public sealed record CtWindowPreset(string Name, double Low, double High);

/// <summary>The form's choices for the launch options (names offered in its selects, CT window presets); the defaults and
/// the rules are the engine's <see cref="TrainingSettings"/>.</summary>
public static class LaunchOptions
{
    /// <summary>Fixed CT windows in Hounsfield units (the form's presets for the ct normalization; the first is suggested).</summary>
    public static IReadOnlyList<CtWindowPreset> CtWindowPresets { get; } =
    [
        new("soft tissue", -160, 240),
        new("lung", -1000, 400),
        new("bone", -500, 1300),
        new("brain", 0, 80),
    ];

    public static IReadOnlyList<string> Augmentations => AugmentationOptions.PresetNames;
    public static IReadOnlyList<string> OptimizerNames => Optimizers.Names;
    public static IReadOnlyList<string> ScheduleNames => Schedules.Names;
    public static IReadOnlyList<string> ResizeNames => PipelineNames.ResizeNames;
    public static IReadOnlyList<string> NormalizationNames => PipelineNames.NormalizationNames;
    /// <summary>Loss specs offered by the form; any other valid <see cref="LossFactory"/> spec is accepted by the API.</summary>
    public static IReadOnlyList<string> SuggestedLosses { get; } = ["bce+dice", "dice+ce", "dice+focal", "tversky", "focal", "dice"];

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
