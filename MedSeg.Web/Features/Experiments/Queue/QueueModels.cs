namespace MedSeg.Web.Features.Experiments.Queue;

/// <summary>Where a run stands in the training queue.</summary>
public enum QueueState
{
    /// <summary>Waiting for a training slot (no job yet).</summary>
    Queued,
    /// <summary>Given a slot: its job is queued for a worker, which has not started it yet.</summary>
    Starting,
    Running,
}

/// <summary>
/// One run of <c>GET /api/queue</c>. <paramref name="Position"/>: 1-based among the queued runs, in the order the dispatcher
/// gives them slots (null once it has one). <paramref name="Name"/> and <paramref name="Dataset"/> are null for a run the
/// reader may not see (another member's, not shared): everyone sees who waits and what, not what they work on.
/// <paramref name="EstimatedFinish"/> is when its training should end, from measured epoch times (<paramref name="Eta"/> says
/// from what, or why there is no estimate). <paramref name="HeldByLimit"/>: only its owner's concurrent job limit holds it.
/// </summary>
public sealed record QueueEntry(Guid ExperimentId, int? Position, QueueState State, string Owner, string OwnerId, bool Mine, bool CanCancel,
    string? Name, string Model, string? Dataset, DateTimeOffset QueuedAt, DateTimeOffset? StartedAt, int CurrentEpoch, int Epochs,
    DateTimeOffset? EstimatedStart, DateTimeOffset? EstimatedFinish, string Eta, bool HeldByLimit);

/// <summary>The whole queue: the cluster's training slots, how many are held, and every running and queued run (running first,
/// then queued by position).</summary>
public sealed record QueueView(int Slots, int Busy, IReadOnlyList<QueueEntry> Entries);
