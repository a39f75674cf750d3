using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Models;

namespace MedSeg.Engine.Training;

/// <summary>One labeled case on disk. The mask is read with <see cref="MaskThreshold"/> semantics of the plan.</summary>
public sealed record TrainingCase(string Name, string ImagePath, string MaskPath)
{
    /// <summary>The volume this case is a slice of (a NIfTI import), or null for a 2D image. Validation volumes are also
    /// scored whole: <see cref="EpochSummary.VolumeDice"/>, and predictions/volumes.json after the final evaluation.</summary>
    public CaseVolume? Volume { get; init; }

    /// <summary>Pixel spacing in mm along rows and columns when the dataset version records one (DICOM, NIfTI slices); null =
    /// unknown, and the evaluation reports surface distances in pixels only.</summary>
    public double? RowSpacing { get; init; }
    public double? ColumnSpacing { get; init; }

    /// <summary>The spacing the evaluation measures mm in: <see cref="RowSpacing"/>/<see cref="ColumnSpacing"/>, else the volume's.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Metrics.PixelSpacing? Spacing =>
        (RowSpacing ?? Volume?.RowSpacing, ColumnSpacing ?? Volume?.ColumnSpacing) is (double r, double c) && r > 0 && c > 0 && double.IsFinite(r) && double.IsFinite(c)
            ? new Metrics.PixelSpacing(r, c) : null;
}

/// <summary>Where a 2D case sits in its source volume: the volume's case id, the slice index along the slicing axis and
/// the spacings in mm (rows, columns and between slices; null = unknown). HD95 of a volume needs all three.</summary>
public sealed record CaseVolume(string Id, int Slice, double? RowSpacing = null, double? ColumnSpacing = null, double? SliceSpacing = null)
{
    /// <summary>The voxel size, when all three spacings are known.</summary>
    public Metrics.VoxelSpacing? Spacing => RowSpacing is double r && ColumnSpacing is double c && SliceSpacing is double s
        ? new Metrics.VoxelSpacing(s, r, c) : null;
}

/// <summary>Everything a training run needs. The engine never reads a database: the web job and the CLI build this.</summary>
public sealed record TrainingPlan
{
    public required string Model { get; init; }
    public ModelOptions ModelOptions { get; init; } = new();
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    /// <summary>Square training size in pixels (images are resized to ImageSize x ImageSize).</summary>
    public required int ImageSize { get; init; }
    public required double LearningRate { get; init; }
    public int Seed { get; init; } = 1;
    public required IReadOnlyList<TrainingCase> Train { get; init; }
    public required IReadOnlyList<TrainingCase> Validation { get; init; }
    /// <summary>Names of validation cases whose predicted masks are written as previews after each epoch.</summary>
    public IReadOnlyList<string> PreviewCases { get; init; } = [];
    /// <summary>Folder owned by this run: checkpoints/, previews/, predictions/ are written below it.</summary>
    public required string RunDirectory { get; init; }
    /// <summary>"auto" (CUDA when present), "cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Torch intra-op threads; null keeps libtorch's default.</summary>
    public int? Threads { get; init; }

    /// <summary>"adamw" or "sgd" (momentum 0.99, Nesterov, as nnU-Net); see <see cref="Optimizers"/>.</summary>
    public string Optimizer { get; init; } = "adamw";
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>"cosine" (with <see cref="WarmupEpochs"/>), "poly" (nnU-Net) or "constant"; see <see cref="Schedules"/>.</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>Linear warm-up epochs before the cosine schedule; 0 = none.</summary>
    public int WarmupEpochs { get; init; }
    /// <summary>Clip the global gradient L2 norm to this value; null = off (nnU-Net uses 12).</summary>
    public double? GradientClipNorm { get; init; }
    /// <summary>A <see cref="Losses.LossFactory"/> spec, in Binary mode for <c>Classes = 1</c> (e.g. "bce+dice", the default,
    /// "dice+ce", "focal") and in Multiclass mode otherwise (e.g. <see cref="DefaultMulticlassLoss"/>; "bce" is refused there).</summary>
    public string Loss { get; init; } = DefaultBinaryLoss;

    public const string DefaultBinaryLoss = "bce+dice";
    /// <summary>nnU-Net's default: soft Dice + softmax cross-entropy.</summary>
    public const string DefaultMulticlassLoss = "dice+ce";

    /// <summary>The default loss spec for a model with <paramref name="classes"/> output channels.</summary>
    public static string DefaultLoss(int classes) => classes == 1 ? DefaultBinaryLoss : DefaultMulticlassLoss;
    /// <summary>Stop after this many epochs without a validation-Dice improvement above <see cref="MinDelta"/>; null = off.</summary>
    public int? EarlyStoppingPatience { get; init; }
    public double MinDelta { get; init; }
    /// <summary>Stop after the epoch during which this much training time (in this call) has passed; null = off.</summary>
    public TimeSpan? TimeBudget { get; init; }
    /// <summary>"fp32". "bf16" is refused: TorchSharp 0.107 has no autocast (see docs/training.md).</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>Training-time augmentation (<see cref="AugmentationOptions.Parse"/>: none, flips, light, strong); default flips
    /// (h/v flips ½ each, the trainer's historical recipe).</summary>
    public AugmentationOptions Augmentation { get; init; } = AugmentationOptions.Flips;
    /// <summary>Resize policy and intensity normalization for training, validation, previews and (via run.json) prediction.
    /// A <see cref="NormalizationMode.DatasetZScore"/> or <see cref="NormalizationMode.CtWindow"/> without values is resolved
    /// from a <see cref="DatasetFingerprint"/> of the training cases and the resolved values are stored in run.json.</summary>
    public PreprocessingOptions Preprocessing { get; init; } = PreprocessingOptions.Default;
    /// <summary><see cref="BatchLoader"/> worker threads (decode/augment in parallel).</summary>
    public int LoaderWorkers { get; init; } = 2;
    /// <summary>At most this many training batches exist at once (see <see cref="BatchLoaderOptions.Prefetch"/>).</summary>
    public int LoaderPrefetch { get; init; } = 3;
    /// <summary>Pretrained weights loaded into the freshly built model before the first epoch, with
    /// <see cref="Models.Weights.PretrainedWeights.LoadInto(SegmentationModel, string, string?)"/>; the key report goes to
    /// <see cref="ITrainingObserver.OnLog"/>. Not read on resume: the checkpoint holds the weights by then. Null = from scratch.</summary>
    public PretrainedWeightsSource? PretrainedWeights { get; init; }
}

/// <summary>A pretrained state-dict file (<c>.pt</c>/<c>.pth</c> or <c>.safetensors</c>) and, optionally, the key map to
/// load it with (<see cref="Models.Weights.WeightKeyMap.Parse"/>; null = chosen from the keys).</summary>
public sealed record PretrainedWeightsSource(string Path, string? KeyMap = null);

/// <summary>Why a run stopped.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<StopReason>))]
public enum StopReason
{
    Completed,
    EarlyStopped,
    TimeBudget,
}

/// <summary>Events the trainer reports. Implementations must be cheap and thread-safe; the web adapts them to SignalR.</summary>
public interface ITrainingObserver
{
    void OnStarted(TrainingStarted e);
    void OnBatch(BatchProgress e);
    void OnEpoch(EpochSummary e);
    /// <summary>A preview mask PNG was written for a validation case (0/255; multi-class: label × ⌊255 / (K − 1)⌋).</summary>
    void OnPreview(PreviewWritten e);
    void OnLog(string message);
}

public sealed record TrainingStarted(string Device, long Parameters, int StartEpoch, int Epochs, int BatchesPerEpoch, bool Resumed);
public sealed record BatchProgress(int Epoch, int Batch, int Batches, double Loss);
/// <param name="ValidationDice">Mean per-case Dice; for a multi-class model each case's Dice is the mean over the foreground
/// classes 1 … K − 1.</param>
/// <param name="ClassDice">Multi-class models: the mean Dice of each foreground class 1 … K − 1 (index 0 = class 1); null for binary.</param>
/// <param name="VolumeDice">Validation cases that are slices of volumes (<see cref="TrainingCase.Volume"/>): the slices of each
/// volume stacked back and scored as one 3D volume (at the training resolution, as the slice mean), then the mean over the
/// volumes of each foreground class's Dice (binary: one entry); null when no validation case has a volume.</param>
public sealed record EpochSummary(int Epoch, double TrainLoss, double ValidationLoss, double ValidationDice,
    double ValidationIoU, double LearningRate, double Seconds, bool IsBest, IReadOnlyList<double>? ClassDice = null,
    IReadOnlyList<double>? VolumeDice = null);
/// <summary><paramref name="Path"/> is absolute; <paramref name="RelativePath"/> is relative to the run directory.</summary>
public sealed record PreviewWritten(int Epoch, string CaseName, string Path, string RelativePath);
public sealed record TrainingResult(int EpochsCompleted, int BestEpoch, double BestValidationDice, string BestCheckpoint, string LastCheckpoint)
{
    /// <summary>Completed (all epochs), EarlyStopped or TimeBudget.</summary>
    public StopReason StopReason { get; init; } = StopReason.Completed;
}

/// <summary>An observer that ignores everything (tests, CLI without progress).</summary>
public sealed class NullTrainingObserver : ITrainingObserver
{
    public static readonly NullTrainingObserver Instance = new();
    public void OnStarted(TrainingStarted e) { }
    public void OnBatch(BatchProgress e) { }
    public void OnEpoch(EpochSummary e) { }
    public void OnPreview(PreviewWritten e) { }
    public void OnLog(string message) { }
}
