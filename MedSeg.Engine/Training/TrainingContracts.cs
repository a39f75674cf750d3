using MedSeg.Engine.Models;

namespace MedSeg.Engine.Training;

/// <summary>One labeled case on disk. The mask is read with <see cref="MaskThreshold"/> semantics of the plan.</summary>
public sealed record TrainingCase(string Name, string ImagePath, string MaskPath);

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
}

/// <summary>Events the trainer reports. Implementations must be cheap and thread-safe; the web adapts them to SignalR.</summary>
public interface ITrainingObserver
{
    void OnStarted(TrainingStarted e);
    void OnBatch(BatchProgress e);
    void OnEpoch(EpochSummary e);
    /// <summary>A preview mask PNG (0/255) was written for a validation case.</summary>
    void OnPreview(PreviewWritten e);
    void OnLog(string message);
}

public sealed record TrainingStarted(string Device, long Parameters, int StartEpoch, int Epochs, int BatchesPerEpoch, bool Resumed);
public sealed record BatchProgress(int Epoch, int Batch, int Batches, double Loss);
public sealed record EpochSummary(int Epoch, double TrainLoss, double ValidationLoss, double ValidationDice,
    double ValidationIoU, double LearningRate, double Seconds, bool IsBest);
/// <summary><paramref name="Path"/> is absolute; <paramref name="RelativePath"/> is relative to the run directory.</summary>
public sealed record PreviewWritten(int Epoch, string CaseName, string Path, string RelativePath);
public sealed record TrainingResult(int EpochsCompleted, int BestEpoch, double BestValidationDice, string BestCheckpoint, string LastCheckpoint);

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
