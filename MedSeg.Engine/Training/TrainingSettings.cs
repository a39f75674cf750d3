using System.Globalization;
using System.Text.Json.Serialization;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;

namespace MedSeg.Engine.Training;

/// <summary>One thing wrong with a run's settings: the field it is about (the property name, as the form, the API and the
/// CLI's option map spell it) and what to do.</summary>
public sealed record SettingError(string Field, string Message);

/// <summary>The bounds <see cref="TrainingSettings.Check"/> applies: <see cref="Launch"/> for runs launched from the web (the form
/// and the API: what a shared server accepts), <see cref="Engine"/> for what a plan can train at all (the trainer, and the
/// <c>medseg train</c> command on one's own machine). The rules and their messages are the same; only the bounds differ.</summary>
public sealed record SettingLimits(int MaxEpochs, int MaxBatchSize, int MinImageSize, int MaxImageSize, double MinLearningRate,
    double MaxLearningRate, double MaxWeightDecay, bool PatienceBelowEpochs)
{
    public static SettingLimits Launch { get; } = new(1000, 256, 32, 2048, 1e-7, 1.0, 1.0, PatienceBelowEpochs: true);
    public static SettingLimits Engine { get; } = new(100_000, 4096, 16, 4096, double.Epsilon, double.MaxValue, double.MaxValue, PatienceBelowEpochs: false);
}

/// <summary>
/// What a person chooses for a training run, and the one place its defaults and its rules live: the web form and API
/// (through the experiment's snapshot, which derives from this), the <c>medseg train</c> command and the trainer all read
/// the defaults here and check with <see cref="Check"/>. Options are names (as the form and the CLI take them) and numbers
/// where 0 means off; <see cref="ToPlan"/> turns them into the engine's <see cref="TrainingPlan"/>.
/// The property defaults are the engine's (and those of experiments launched before an option was recorded: flips,
/// adamw with weight decay 1e-4, cosine without warm-up, bce+dice, stretch, per-image z-score), so an old snapshot reads as it
/// trained; <see cref="NewWebRun"/> is what the web form starts from before a dataset's suggestions fill it.
/// </summary>
public record TrainingSettings
{
    public const double MaxTimeBudgetHours = 1000;
    public const double MaxGradientClipNorm = 1e6;
    public const double DefaultWeightDecay = 1e-4;

    /// <summary>The web form's starting point: the engine defaults with 20 epochs and the <c>light</c> augmentation (the
    /// dataset's suggested settings replace these as soon as a dataset is chosen).</summary>
    public static TrainingSettings NewWebRun { get; } = new() { Epochs = 20, Augmentation = "light" };

    /// <summary>A <see cref="ModelRegistry"/> name.</summary>
    public string Model { get; init; } = "unext";
    /// <summary>In-channels, classes (set from the dataset), the variant and the model's options (e.g. deep supervision).</summary>
    public ModelOptions ModelOptions { get; init; } = new(InChannels: 3, Classes: 1);
    public int Epochs { get; init; } = 50;
    public int BatchSize { get; init; } = 8;
    /// <summary>Square training size; a multiple of the model's <see cref="ModelInfo.SizeMultiple"/>.</summary>
    public int ImageSize { get; init; } = 256;
    public double LearningRate { get; init; } = 1e-3;
    public int Seed { get; init; } = 1;
    /// <summary>A <see cref="AugmentationOptions.Parse"/> spec: a preset (none, flips, light, strong), optionally with overrides.</summary>
    public string Augmentation { get; init; } = "flips";
    /// <summary>An <see cref="Optimizers"/> name.</summary>
    public string Optimizer { get; init; } = "adamw";
    /// <summary>A <see cref="Schedules"/> name.</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>A <see cref="LossFactory"/> spec, in Binary mode for one class and Multiclass mode otherwise
    /// (<see cref="TrainingPlan.DefaultLoss"/>).</summary>
    public string Loss { get; init; } = TrainingPlan.DefaultBinaryLoss;
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
    public double WeightDecay { get; init; } = DefaultWeightDecay;

    /// <summary>Why these settings cannot train, one (field, message) pair per problem, each naming the valid values; empty
    /// when they can. Builds no model (the registry's metadata answers) and no tensor.</summary>
    public IReadOnlyList<SettingError> Check(SettingLimits? limits = null)
    {
        var l = limits ?? SettingLimits.Launch;
        var errors = new List<SettingError>();
        void Add(string field, string? message)
        {
            if (message is not null) errors.Add(new SettingError(field, message));
        }
        errors.AddRange(ModelRegistry.Check(Model, ModelOptions).Select(e => new SettingError(e.Field, e.Message)));
        Add(nameof(ModelOptions), ModelOptions.Classes < 1 || ModelOptions.Classes > MaskReader.MaxLabel + 1
            ? $"Classes must be 1 (binary) or the class count K of a label map, 2 … {MaskReader.MaxLabel + 1} (background included); got {ModelOptions.Classes}."
            : ModelOptions.InChannels < 1 ? $"The model needs at least 1 input channel; got {ModelOptions.InChannels}." : null);
        Add(nameof(Epochs), Epochs < 1 || Epochs > l.MaxEpochs ? $"Epochs must be between 1 and {l.MaxEpochs}." : null);
        Add(nameof(BatchSize), BatchSize < 1 || BatchSize > l.MaxBatchSize ? $"Batch size must be between 1 and {l.MaxBatchSize}." : null);
        Add(nameof(ImageSize), CheckImageSize(l));
        Add(nameof(LearningRate), LearningRate >= l.MinLearningRate && LearningRate <= l.MaxLearningRate && double.IsFinite(LearningRate) ? null
            : l.MaxLearningRate < double.MaxValue ? $"Learning rate must be between {l.MinLearningRate.ToString("0e0", CultureInfo.InvariantCulture)} and {l.MaxLearningRate.ToString(CultureInfo.InvariantCulture)}."
            : "Learning rate must be a positive number.");
        Add(nameof(Seed), Seed < 0 ? "The seed must be 0 or a positive number." : null);
        Add(nameof(Augmentation), CheckAugmentation(Augmentation));
        Add(nameof(Optimizer), OneOf(Optimizer, Optimizers.Names, "optimizer"));
        Add(nameof(Schedule), OneOf(Schedule, Schedules.Names, "schedule"));
        Add(nameof(Loss), CheckLoss(Loss, ModelOptions.Classes));
        Add(nameof(EarlyStoppingPatience), EarlyStoppingPatience < 0 || EarlyStoppingPatience > l.MaxEpochs
            ? $"Early-stopping patience must be between 0 (off) and {l.MaxEpochs} epochs."
            : l.PatienceBelowEpochs && EarlyStoppingPatience > 0 && Epochs > 0 && EarlyStoppingPatience >= Epochs
                ? $"Early-stopping patience must be below the number of epochs ({Epochs}), or 0 for off." : null);
        Add(nameof(Resize), OneOf(Resize, PipelineNames.ResizeNames, "resize policy"));
        Add(nameof(Normalization), OneOf(Normalization, PipelineNames.NormalizationNames, "normalization"));
        Add(WindowLow is null ? nameof(WindowHigh) : nameof(WindowLow), CheckWindow(Normalization, WindowLow, WindowHigh));
        Add(nameof(WarmupEpochs), WarmupEpochs < 0 || WarmupEpochs > l.MaxEpochs ? $"Warm-up must be between 0 (none) and {l.MaxEpochs} epochs."
            : CheckWarmup(WarmupEpochs, Epochs, Schedule));
        Add(nameof(GradientClipNorm), GradientClipNorm is >= 0 and <= MaxGradientClipNorm ? null
            : "Gradient clipping must be 0 (off) or a positive norm up to 1e6.");
        Add(nameof(TimeBudgetHours), TimeBudgetHours is >= 0 and <= MaxTimeBudgetHours ? null
            : $"The time budget must be between 0 (none) and {MaxTimeBudgetHours:0} hours.");
        Add(nameof(WeightDecay), WeightDecay >= 0 && WeightDecay <= l.MaxWeightDecay && double.IsFinite(WeightDecay) ? null
            : l.MaxWeightDecay < double.MaxValue ? $"Weight decay must be between 0 and {l.MaxWeightDecay.ToString(CultureInfo.InvariantCulture)}." : "Weight decay must be 0 or a positive number.");
        return errors;
    }

    /// <summary>The size rules: within the limits' bounds and a multiple of the model's
    /// size multiple, with the two nearest valid sizes.</summary>
    private string? CheckImageSize(SettingLimits l)
    {
        if (ImageSize < l.MinImageSize || ImageSize > l.MaxImageSize) return $"Image size must be between {l.MinImageSize} and {l.MaxImageSize} pixels.";
        if (!ModelRegistry.Contains(Model ?? "")) return null;
        var m = ModelRegistry.SizeMultiple(Model!);
        if (ImageSize % m == 0) return null;
        var lower = ImageSize / m * m;
        var suggestion = lower >= l.MinImageSize ? $"{lower} or {lower + m}" : $"{lower + m}";
        return $"Image size must be a multiple of {m} for {Model}: try {suggestion}.";
    }

    /// <summary>A preset (the form's choices) or, through the API and the CLI, a preset with overrides such as
    /// "strong, ElasticProbability=0.2" (<see cref="AugmentationOptions.Parse"/>). Null when valid.</summary>
    public static string? CheckAugmentation(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return $"Choose an augmentation: {string.Join(", ", AugmentationOptions.PresetNames)}.";
        try
        {
            AugmentationOptions.Parse(value).Validate();
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>The CT window: both bounds or neither (neither = from the training foreground), finite, low below high, only with
    /// the ct normalization. Null when valid, else the field error.</summary>
    public static string? CheckWindow(string? normalization, double? low, double? high)
    {
        if (low is null && high is null) return null;
        if ((normalization ?? "").Trim().ToLowerInvariant() != "ct")
            return $"A CT window applies only to the ct normalization; clear the window bounds for {normalization}.";
        if (low is null || high is null) return "Give both window bounds (low and high, in stored values such as HU), or neither for the window from the training foreground.";
        if (!double.IsFinite(low.Value) || !double.IsFinite(high.Value) || Math.Abs(low.Value) > 1e6 || Math.Abs(high.Value) > 1e6)
            return "The window bounds must be numbers between −1000000 and 1000000.";
        return high > low ? null : $"The window's high bound ({high}) must be above its low bound ({low}).";
    }

    /// <summary>Warm-up must leave at least one cosine epoch, and means nothing to the other schedules.</summary>
    public static string? CheckWarmup(int warmupEpochs, int epochs, string? schedule) =>
        warmupEpochs <= 0 ? null
            : epochs > 0 && warmupEpochs >= epochs ? $"Warm-up must be below the number of epochs ({epochs}), or 0 for none."
            : (schedule ?? "").Trim().ToLowerInvariant() != "cosine" ? $"Warm-up applies only to the cosine schedule; set it to 0 for {schedule}."
            : null;

    /// <summary>Why <paramref name="value"/> is no loss for a model with <paramref name="classes"/> outputs (Binary mode for 1,
    /// Multiclass for a label map, where bce is refused), naming the valid ones; null when it is one.</summary>
    public static string? CheckLoss(string? value, int classes = 1)
    {
        try
        {
            // Loss modules hold no tensors: building one parses the spec with the factory's own rules and costs nothing.
            using var _ = classes <= 1 ? LossFactory.Create(value ?? "", LossMode.Binary, 1) : LossFactory.Create(value ?? "", LossMode.Multiclass, classes);
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

    /// <summary>Null when <paramref name="value"/> is one of <paramref name="names"/> (case-insensitive, trimmed), else the
    /// field error naming the valid values.</summary>
    public static string? OneOf(string? value, IReadOnlyList<string> names, string what) =>
        names.Contains((value ?? "").Trim().ToLowerInvariant()) ? null
            : $"Unknown {what} '{value}'. Choose one of: {string.Join(", ", names)}.";

    /// <summary>The time budget, or null when there is none.</summary>
    [JsonIgnore]
    public TimeSpan? TimeBudget => TimeBudgetHours > 0 ? TimeSpan.FromHours(TimeBudgetHours) : null;

    /// <summary>The engine's normalization: a ct with a fixed window carries its values (CtWindow without mean/std).</summary>
    [JsonIgnore]
    public IntensityNormalization EngineNormalization =>
        PipelineNames.ParseNormalization(Normalization) is { Mode: NormalizationMode.CtWindow } && WindowLow is { } low && WindowHigh is { } high
            ? IntensityNormalization.Window([low], [high])
            : PipelineNames.ParseNormalization(Normalization);

    /// <summary>The plan these settings train: every option here, the cases and the run folder from the caller.
    /// <see cref="TrainingPlan.TimeBudget"/> gets the whole budget (a resuming caller subtracts what earlier runs spent).
    /// Call <see cref="Check"/> first: invalid names throw here.</summary>
    public TrainingPlan ToPlan(IReadOnlyList<TrainingCase> train, IReadOnlyList<TrainingCase> validation, string runDirectory) => new()
    {
        Model = Model.Trim().ToLowerInvariant(),
        ModelOptions = ModelOptions,
        Epochs = Epochs,
        BatchSize = BatchSize,
        ImageSize = ImageSize,
        LearningRate = LearningRate,
        Seed = Seed,
        Train = train,
        Validation = validation,
        RunDirectory = runDirectory,
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

    /// <summary>The settings a plan was made from, for the trainer's <see cref="Check"/>: the augmentation by its preset name
    /// (a custom one, already validated by the plan, as "flips"), the windows from the normalization. The rules are the same
    /// ones the form and the API met.</summary>
    public static TrainingSettings Of(TrainingPlan plan) => new()
    {
        Model = plan.Model,
        ModelOptions = plan.ModelOptions,
        Epochs = plan.Epochs,
        BatchSize = plan.BatchSize,
        ImageSize = plan.ImageSize,
        LearningRate = plan.LearningRate,
        Seed = plan.Seed,
        Augmentation = AugmentationOptions.PresetNames.Contains(plan.Augmentation?.Name ?? "") ? plan.Augmentation!.Name : "flips",
        Optimizer = plan.Optimizer,
        Schedule = plan.Schedule,
        Loss = plan.Loss,
        EarlyStoppingPatience = plan.EarlyStoppingPatience ?? 0,
        WarmupEpochs = plan.WarmupEpochs,
        GradientClipNorm = plan.GradientClipNorm ?? 0,
        TimeBudgetHours = plan.TimeBudget is { } t ? t.TotalHours : 0,
        WeightDecay = plan.WeightDecay,
    };
}
