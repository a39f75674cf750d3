using System.ComponentModel.DataAnnotations;
using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Experiments;

/// <summary>What the launch form and <c>POST /api/experiments</c> take.</summary>
public sealed class LaunchRequest
{
    [Required(ErrorMessage = "Choose a dataset.")]
    public Guid? DatasetId { get; set; }

    [Required(ErrorMessage = "Choose an architecture.")]
    public string Model { get; set; } = "unext";

    [StringLength(200)]
    public string? Name { get; set; }

    [Range(1, 1000, ErrorMessage = "Epochs must be between 1 and 1000.")]
    public int Epochs { get; set; } = 20;

    [Range(1, 256, ErrorMessage = "Batch size must be between 1 and 256.")]
    public int BatchSize { get; set; } = 8;

    /// <summary>Square training size; must be a multiple of the model's size multiple (32 for UNeXt).</summary>
    [Range(32, 2048, ErrorMessage = "Image size must be between 32 and 2048 pixels.")]
    public int ImageSize { get; set; } = 256;

    [Range(1e-7, 1.0, ErrorMessage = "Learning rate must be between 1e-7 and 1.")]
    public double LearningRate { get; set; } = 1e-3;

    [Range(0, int.MaxValue)]
    public int Seed { get; set; } = 1;

    /// <summary>Augmentation preset: none, flips, light (default), strong. Null = default.</summary>
    public string? Augmentation { get; set; } = LaunchOptions.DefaultAugmentation;

    /// <summary>adamw (default) or sgd. Null = default.</summary>
    public string? Optimizer { get; set; } = LaunchOptions.DefaultOptimizer;

    /// <summary>cosine (default), poly or constant. Null = default.</summary>
    public string? Schedule { get; set; } = LaunchOptions.DefaultSchedule;

    /// <summary>A loss spec: dice+focal, tversky, … (LossFactory names joined by '+'). Null = the dataset's default: bce+dice for
    /// a binary dataset, dice+ce for a label map (where bce is refused).</summary>
    [StringLength(200)]
    public string? Loss { get; set; }

    /// <summary>Stop after this many epochs without validation-Dice gain; 0 = off (default).</summary>
    [Range(0, 1000, ErrorMessage = "Early-stopping patience must be between 0 (off) and 1000 epochs.")]
    public int EarlyStoppingPatience { get; set; }

    /// <summary>stretch (default) or letterbox (keeps the aspect ratio and pads). Null = default.</summary>
    public string? Resize { get; set; } = LaunchOptions.DefaultResize;

    /// <summary>per-image (default), dataset or ct; dataset/ct statistics come from the training cases. Null = default.</summary>
    public string? Normalization { get; set; } = LaunchOptions.DefaultNormalization;

    /// <summary>With ct: a fixed window's low and high bound (stored values, HU for CT; both or neither). Neither = the window
    /// from the training foreground's 0.5/99.5 percentiles.</summary>
    public double? WindowLow { get; set; }
    public double? WindowHigh { get; set; }

    /// <summary>Linear warm-up epochs before the cosine schedule; 0 = none; below <see cref="Epochs"/>.</summary>
    [Range(0, 1000, ErrorMessage = "Warm-up must be between 0 (none) and 1000 epochs.")]
    public int WarmupEpochs { get; set; }

    /// <summary>Clip the global gradient norm at this value; 0 = off.</summary>
    [Range(0, 1e6, ErrorMessage = "Gradient clipping must be 0 (off) or a positive norm up to 1e6.")]
    public double GradientClipNorm { get; set; }

    /// <summary>Wall-clock training budget in hours; 0 = none. Training stops after the epoch that passes it.</summary>
    [Range(0, LaunchOptions.MaxTimeBudgetHours, ErrorMessage = "The time budget must be between 0 (none) and 1000 hours.")]
    public double TimeBudgetHours { get; set; }

    [Range(0, 1.0, ErrorMessage = "Weight decay must be between 0 and 1.")]
    public double WeightDecay { get; set; } = LaunchOptions.DefaultWeightDecay;

    /// <summary>A saved split of the dataset (GET /api/datasets/{id}/splits) to train on; null = a random split by
    /// <see cref="Seed"/> of the latest version (whole volumes when the cases came from volumes).</summary>
    public Guid? SplitId { get; set; }

    /// <summary>With a k-fold split: which fold validates (0-based; default 0).</summary>
    public int? Fold { get; set; }
}

/// <summary>A field-level validation failure (field name as in <see cref="LaunchRequest"/>, camelCase in the API).</summary>
public sealed record FieldError(string Field, string Message);

/// <param name="OverQuota">Refused because the user's job quota is full (the API answers 429; the form shows the message).</param>
public sealed record LaunchResult(Guid? ExperimentId, IReadOnlyList<FieldError> Errors, Quotas.JobRefusal? OverQuota = null)
{
    public bool Succeeded => ExperimentId is not null;
}

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
    string ImageUrl, string TruthUrl, string PredictionUrl, string ComparisonUrl, IReadOnlyList<double?>? ClassDice = null);
