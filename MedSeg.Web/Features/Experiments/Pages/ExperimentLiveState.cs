using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Experiments.Pages;

/// <summary>
/// What the live experiment page shows: the stored details merged with the messages pushed since. Messages and reloads may
/// overlap (a page loads, then subscribes, then reloads once), so epochs are kept by number and previews by epoch.
/// Not thread-safe: the page applies everything on its renderer's dispatcher.
/// </summary>
public sealed class ExperimentLiveState
{
    private readonly SortedDictionary<int, EpochPoint> metrics = [];

    public ExperimentDetail? Detail { get; private set; }
    public ExperimentStatus Status { get; private set; }
    public int CurrentEpoch { get; private set; }
    public double? BestDice { get; private set; }
    public BatchProgressMessage? Batch { get; private set; }
    public IReadOnlyList<PreviewImage> Previews { get; private set; } = [];
    public string? StatusMessage { get; private set; }

    public IReadOnlyList<EpochPoint> Metrics => [.. metrics.Values];

    public int Epochs => Detail?.Summary.Epochs ?? Batch?.Epochs ?? 0;

    /// <summary>The reason a run failed or stopped: the stored error, else the last status message.</summary>
    public string? Error => Status is ExperimentStatus.Failed or ExperimentStatus.Interrupted or ExperimentStatus.Cancelled
        ? Detail?.Error ?? StatusMessage
        : null;

    /// <summary>For a completed run: why training ended before its last epoch (time budget, early stopping).</summary>
    public string? Note => Status == ExperimentStatus.Completed ? Detail?.Note ?? StatusMessage : null;

    public bool CanCancel => Status is ExperimentStatus.Queued or ExperimentStatus.Running;
    public bool CanResume => Status is ExperimentStatus.Interrupted or ExperimentStatus.Failed or ExperimentStatus.Cancelled;
    public bool CanReview => Status == ExperimentStatus.Completed;
    public bool IsActive => Status is ExperimentStatus.Queued or ExperimentStatus.Running;

    /// <summary>Takes freshly loaded details; the stored status wins, stored epochs are merged with live ones.</summary>
    public void Load(ExperimentDetail detail)
    {
        Detail = detail;
        Status = detail.Summary.Status;
        foreach (var point in detail.Metrics) metrics[point.Epoch] = point;
        CurrentEpoch = Math.Max(detail.Summary.CurrentEpoch, LastEpoch);
        BestDice = Max(detail.Summary.BestDice, BestDice);
        if (detail.Previews.Count > 0 && (Previews.Count == 0 || detail.Previews.Max(p => p.Epoch) >= Previews.Max(p => p.Epoch)))
        {
            Previews = detail.Previews;
        }
        if (!IsActive) Batch = null;
    }

    public void Apply(BatchProgressMessage message)
    {
        if (message.Epoch < CurrentEpoch) return; // late message from an epoch already finished
        Batch = message;
        if (Status is ExperimentStatus.Queued or ExperimentStatus.Interrupted) Status = ExperimentStatus.Running;
    }

    public void Apply(EpochCompletedMessage message)
    {
        metrics[message.Point.Epoch] = message.Point;
        CurrentEpoch = Math.Max(CurrentEpoch, message.Point.Epoch);
        if (double.IsFinite(message.Point.ValidationDice)) BestDice = Max(BestDice, message.Point.ValidationDice);
    }

    public void Apply(PreviewsUpdatedMessage message)
    {
        if (Previews.Count == 0 || message.Epoch >= Previews.Max(p => p.Epoch)) Previews = message.Previews;
    }

    public void Apply(StatusChangedMessage message)
    {
        Status = message.Status;
        StatusMessage = message.Message;
        if (!IsActive) Batch = null;
    }

    private int LastEpoch => metrics.Count == 0 ? 0 : metrics.Keys.Max();

    private static double? Max(double? a, double? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}
