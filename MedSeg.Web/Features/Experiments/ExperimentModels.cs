using System.ComponentModel.DataAnnotations;
using MedSeg.Data.Entities;
using MedSeg.Engine.Training;

namespace MedSeg.Web.Features.Experiments;

/// <summary>What the launch form and <c>POST /api/experiments</c> take. Its defaults are the engine's
/// <see cref="TrainingSettings.NewWebRun"/> and its rules <see cref="TrainingSettings.Check"/> (through <see cref="ToSettings"/>):
/// the form, the API, the CLI and the trainer check the same way.</summary>
public sealed class LaunchRequest
{
    private static readonly TrainingSettings Defaults = TrainingSettings.NewWebRun;

    [Required(ErrorMessage = "Choose a dataset.")]
    public Guid? DatasetId { get; set; }

    public string Model { get; set; } = Defaults.Model;

    /// <summary>The architecture's variant (GET /api/models lists them); null = its default.</summary>
    public string? Variant { get; set; }

    /// <summary>UNet++: the loss on each of its four heads (GET /api/models says which models take it).</summary>
    public bool DeepSupervision { get; set; }

    /// <summary>Pretrained encoder weights from the weights library (GET /api/weights) to start from; null = from scratch.
    /// They must fit the model and variant.</summary>
    public Guid? WeightsId { get; set; }

    /// <summary>The device the run asks for: <c>auto</c> (a GPU node when any worker has one), <c>cpu</c>, <c>cuda</c> or
    /// <c>cuda:N</c>; null = <c>auto</c> routing and the executing node's <c>MedSeg:Training:Device</c>. It picks the job queue
    /// (<c>training-gpu</c>, <c>training-cpu</c>, <c>training</c>).</summary>
    [RegularExpression("^(auto|cpu|cuda(:[0-9]{1,2})?)$", ErrorMessage = "Device must be auto, cpu, cuda or cuda:N (N a GPU number).")]
    public string? Device { get; set; }

    [StringLength(200)]
    public string? Name { get; set; }

    public int Epochs { get; set; } = Defaults.Epochs;

    public int BatchSize { get; set; } = Defaults.BatchSize;

    /// <summary>Square training size; must be a multiple of the model's size multiple (32 for UNeXt).</summary>
    public int ImageSize { get; set; } = Defaults.ImageSize;

    public double LearningRate { get; set; } = Defaults.LearningRate;

    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>Augmentation preset: none, flips, light (default), strong. Null = default.</summary>
    public string? Augmentation { get; set; } = Defaults.Augmentation;

    /// <summary>adamw (default) or sgd. Null = default.</summary>
    public string? Optimizer { get; set; } = Defaults.Optimizer;

    /// <summary>cosine (default), poly or constant. Null = default.</summary>
    public string? Schedule { get; set; } = Defaults.Schedule;

    /// <summary>A loss spec: dice+focal, tversky, … (LossFactory names joined by '+'). Null = the dataset's default: bce+dice for
    /// a binary dataset, dice+ce for a label map (where bce is refused).</summary>
    [StringLength(200)]
    public string? Loss { get; set; }

    /// <summary>Stop after this many epochs without validation-Dice gain; 0 = off (default).</summary>
    public int EarlyStoppingPatience { get; set; } = Defaults.EarlyStoppingPatience;

    /// <summary>stretch (default) or letterbox (keeps the aspect ratio and pads). Null = default.</summary>
    public string? Resize { get; set; } = Defaults.Resize;

    /// <summary>per-image (default), dataset or ct; dataset/ct statistics come from the training cases. Null = default.</summary>
    public string? Normalization { get; set; } = Defaults.Normalization;

    /// <summary>With ct: a fixed window's low and high bound (stored values, HU for CT; both or neither). Neither = the window
    /// from the training foreground's 0.5/99.5 percentiles.</summary>
    public double? WindowLow { get; set; }
    public double? WindowHigh { get; set; }

    /// <summary>Linear warm-up epochs before the cosine schedule; 0 = none; below <see cref="Epochs"/>.</summary>
    public int WarmupEpochs { get; set; } = Defaults.WarmupEpochs;

    /// <summary>Clip the global gradient norm at this value; 0 = off.</summary>
    public double GradientClipNorm { get; set; } = Defaults.GradientClipNorm;

    /// <summary>Wall-clock training budget in hours; 0 = none. Training stops after the epoch that passes it.</summary>
    public double TimeBudgetHours { get; set; } = Defaults.TimeBudgetHours;

    public double WeightDecay { get; set; } = Defaults.WeightDecay;

    /// <summary>The engine's settings this request asks for, for a dataset of <paramref name="classes"/> classes whose images
    /// the model reads as <paramref name="inChannels"/> channels; a null option takes its default (the loss the dataset's).</summary>
    public TrainingSettings ToSettings(int classes = 1, int inChannels = 3) => new()
    {
        Model = (Model ?? "").Trim().ToLowerInvariant(),
        ModelOptions = new MedSeg.Engine.Models.ModelOptions(inChannels, classes,
            string.IsNullOrWhiteSpace(Variant) ? null
                : MedSeg.Engine.Models.ModelRegistry.Contains(Model ?? "") ? MedSeg.Engine.Models.ModelRegistry.Get(Model!).FindVariant(Variant) ?? Variant.Trim()
                : Variant.Trim(),
            DeepSupervision),
        Epochs = Epochs,
        BatchSize = BatchSize,
        ImageSize = ImageSize,
        LearningRate = LearningRate,
        Seed = Seed,
        Augmentation = Option(Augmentation, Defaults.Augmentation),
        Optimizer = Option(Optimizer, Defaults.Optimizer),
        Schedule = Option(Schedule, Defaults.Schedule),
        Loss = Option(Loss, TrainingPlan.DefaultLoss(classes)),
        EarlyStoppingPatience = EarlyStoppingPatience,
        Resize = Option(Resize, Defaults.Resize),
        Normalization = Option(Normalization, Defaults.Normalization),
        WindowLow = WindowLow,
        WindowHigh = WindowHigh,
        WarmupEpochs = WarmupEpochs,
        GradientClipNorm = GradientClipNorm,
        TimeBudgetHours = TimeBudgetHours,
        WeightDecay = WeightDecay,
    };

    /// <summary>A launch option trimmed and lowercased (loss specs keep their case-insensitive syntax); null/blank = default.</summary>
    private static string Option(string? value, string fallback) =>
        string.IsNullOrWhiteSpace(value) ? fallback : value.Trim().ToLowerInvariant();

    /// <summary>A saved split of the dataset (GET /api/datasets/{id}/splits) to train on; null = a random split by
    /// <see cref="Seed"/> of the latest version (whole volumes when the cases came from volumes).</summary>
    public Guid? SplitId { get; set; }

    /// <summary>With a k-fold split: which fold validates (0-based; default 0).</summary>
    public int? Fold { get; set; }

    /// <summary>The request that made <paramref name="experiment"/>, rebuilt from its snapshot (every training option, the
    /// dataset, the saved split and fold): launching it again trains the same configuration (on the dataset's latest version
    /// unless a saved split pins one). The one mapping from a snapshot back to a request (clone, groups).</summary>
    public static LaunchRequest From(ExperimentConfig config, Experiment experiment) => new()
    {
        DatasetId = config.Dataset?.Id ?? experiment.DatasetId,
        Model = config.Model,
        Variant = config.ModelOptions.Variant,
        DeepSupervision = config.ModelOptions.DeepSupervision,
        WeightsId = config.Weights?.Id,
        Device = config.Device,
        Name = experiment.Name,
        Epochs = config.Epochs,
        BatchSize = config.BatchSize,
        ImageSize = config.ImageSize,
        LearningRate = config.LearningRate,
        Seed = config.Seed,
        Augmentation = config.Augmentation,
        Optimizer = config.Optimizer,
        Schedule = config.Schedule,
        Loss = config.Loss,
        EarlyStoppingPatience = config.EarlyStoppingPatience,
        Resize = config.Resize,
        Normalization = config.Normalization,
        WindowLow = config.WindowLow,
        WindowHigh = config.WindowHigh,
        WarmupEpochs = config.WarmupEpochs,
        GradientClipNorm = config.GradientClipNorm,
        TimeBudgetHours = config.TimeBudgetHours,
        WeightDecay = config.WeightDecay,
        SplitId = config.Split?.SplitId ?? experiment.SplitId,
        Fold = (config.Split?.SplitId ?? experiment.SplitId) is null ? null : config.Split?.Fold ?? experiment.Fold,
    };

    /// <summary>A copy (the group's members differ from their base by seed or fold only).</summary>
    public LaunchRequest Copy() => (LaunchRequest)MemberwiseClone();
}

/// <summary>A field-level validation failure (field name as in <see cref="LaunchRequest"/>, camelCase in the API).</summary>
public sealed record FieldError(string Field, string Message);

/// <param name="OverQuota">Refused because the user's job quota is full (the API answers 429; the form shows the message).</param>
public sealed record LaunchResult(Guid? ExperimentId, IReadOnlyList<FieldError> Errors, Quotas.JobRefusal? OverQuota = null)
{
    public bool Succeeded => ExperimentId is not null;
}

/// <summary>What a clone did: no such visible run, its dataset not visible to the user (a run shared without its dataset), or
/// the launch's own result (field errors, quota).</summary>
public sealed record CloneResult(LaunchResult? Launch, bool NotFound = false, bool DatasetHidden = false);

/// <param name="ClassDice">Label maps: the mean validation Dice of each foreground class 1 … K − 1 (index 0 = class 1);
/// null for binary.</param>
/// <param name="VolumeDice">Volume datasets: the validation volumes scored whole, mean Dice of each foreground class
/// (<see cref="MedSeg.Engine.Training.EpochSummary.VolumeDice"/>); null otherwise.</param>
public sealed record EpochPoint(int Epoch, double TrainLoss, double ValidationLoss, double ValidationDice,
    double ValidationIoU, double LearningRate, double Seconds, IReadOnlyList<double>? ClassDice = null, IReadOnlyList<double>? VolumeDice = null);

/// <param name="Owner">The owner's display name (or email).</param>
/// <param name="Mine">The asking user owns it; otherwise it is shared with them (or they are an admin).</param>
/// <param name="CanManage">The asking user may cancel, resume, share or delete it (its owner or an admin).</param>
public sealed record ExperimentSummary(Guid Id, string Name, string Model, Guid DatasetId, string DatasetName,
    ExperimentStatus Status, int CurrentEpoch, int Epochs, double? BestDice, DateTimeOffset CreatedAt,
    string Owner = "", string OwnerId = "", bool Mine = true, bool CanManage = true);

/// <param name="Error">Why a run failed, was interrupted or cancelled (null for a completed run).</param>
/// <param name="Note">For a completed run: why training ended before its last epoch (time budget, early stopping), else null.</param>
/// <param name="Config">The options the experiment was launched with.</param>
/// <param name="Restarts">How often the run was started again from its last checkpoint after its process died.</param>
public sealed record ExperimentDetail(ExperimentSummary Summary, int BatchSize, int ImageSize, double LearningRate,
    int Seed, int TrainCases, int ValidationCases, string? Error, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    IReadOnlyList<EpochPoint> Metrics, IReadOnlyList<PreviewImage> Previews, ExperimentConfig Config, string? Note = null,
    int Restarts = 0)
{
    /// <summary>The dataset version it is pinned to.</summary>
    public int DatasetVersion { get; init; } = 1;
    /// <summary>The saved split and fold it trains on; null for the random split of its seed.</summary>
    public Guid? SplitId { get; init; }
    public int? Fold { get; init; }
    /// <summary>The split's fixed test cases (never trained or validated on).</summary>
    public int TestCases { get; init; }
    /// <summary>The dataset's class map (value, name, colour; background first): per-class Dice is shown for values 1 … K − 1.</summary>
    public IReadOnlyList<Datasets.ClassEntry> Classes { get; init; } = Datasets.ClassMap.Default(1);
    /// <summary>The model's output classes: 1 binary, K ≥ 3 a label map.</summary>
    public int ClassCount { get; init; } = 1;
    /// <summary>A running run: the estimated seconds left (epochs left × the mean measured epoch time); null otherwise or
    /// before the first epoch has finished.</summary>
    public double? EtaSeconds { get; init; }
}

/// <summary>A preview mask for one of the fixed validation cases after an epoch. Urls are served by the app.</summary>
public sealed record PreviewImage(Guid CaseId, string CaseName, int Epoch, string ImageUrl, string TruthUrl, string PredictionUrl);

/// <summary>One evaluated validation case for the review page.</summary>
/// <param name="ClassDice">Label maps: the case's Dice of each foreground class 1 … K − 1 (null entries: the class is in neither
/// mask); null for binary.</param>
public sealed record CaseResultView(Guid CaseId, string Name, double? Dice, double? IoU, double? Precision, double? Recall,
    string ImageUrl, string TruthUrl, string PredictionUrl, string ComparisonUrl, IReadOnlyList<double?>? ClassDice = null)
{
    /// <summary>HD95 and ASSD in pixels (medpy convention); null where undefined (exactly one mask empty) or not computed
    /// (cases evaluated before surface distances were stored). Label maps: the means over the classes that have them.</summary>
    public double? Hd95 { get; init; }
    public double? Assd { get; init; }
    /// <summary>HD95 and ASSD in mm; null when the dataset version has no pixel spacing for the case.</summary>
    public double? Hd95Mm { get; init; }
    public double? AssdMm { get; init; }
    /// <summary>False-positive and false-negative pixels (label maps: summed over the foreground classes).</summary>
    public long? Fp { get; init; }
    public long? Fn { get; init; }
    /// <summary>The ground truth has no foreground.</summary>
    public bool TruthEmpty { get; init; }
    /// <summary>Every metric of each foreground class (binary: one row, class 1); empty for cases evaluated before they were stored.</summary>
    public IReadOnlyList<ClassCaseResult> Classes { get; init; } = [];
}

/// <summary>One class's metrics of an evaluated case (surface distances null where undefined; mm null without spacing).</summary>
public sealed record ClassCaseResult(int Class, double Dice, double IoU, double Precision, double Recall,
    double? Hd95, double? Assd, double? Hd95Mm, double? AssdMm, long Fp, long Fn, bool TruthEmpty);

/// <summary>The review page's data as the prerender loaded it (<see cref="Pages.ExperimentReview"/>'s persisted state).</summary>
public sealed record ReviewPageState(Guid Id, IReadOnlyList<CaseResultView>? Cases, ExperimentSummary? Experiment,
    IReadOnlyList<MedSeg.Web.Features.Datasets.ClassEntry> Classes, IReadOnlyList<MedSeg.Engine.Metrics.VolumeResult> Volumes, string? Error);
