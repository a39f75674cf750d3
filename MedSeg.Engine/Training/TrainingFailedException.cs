namespace MedSeg.Engine.Training;

/// <summary>What kind of failure stopped a run; a supervisor retries none of these (retrying would fail the same way).</summary>
public enum TrainingFailureKind
{
    /// <summary>The data or the plan cannot be trained (unreadable case, labels the model has no class for, …).</summary>
    Error,
    /// <summary>The training or validation loss became NaN or infinite.</summary>
    NonFiniteLoss,
    /// <summary>A checkpoint could not be written (full or read-only data folder); the previous checkpoint is still valid.</summary>
    Checkpoint,
}

/// <summary>Training cannot go on (e.g. the loss became NaN); the message says why and what to change.</summary>
public sealed class TrainingFailedException(string message, Exception? inner = null, TrainingFailureKind kind = TrainingFailureKind.Error)
    : Exception(message, inner)
{
    public TrainingFailureKind Kind { get; } = kind;
}
