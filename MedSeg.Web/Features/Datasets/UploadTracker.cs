using System.Collections.Concurrent;
using MedSeg.Engine.Data;

namespace MedSeg.Web.Features.Datasets;

/// <summary>Where an upload is. <see cref="Queued"/> … <see cref="Committing"/> are in progress; the rest are ends.</summary>
public enum UploadState
{
    Queued,
    Unpacking,
    Validating,
    /// <summary>Validated, with problems or a class map to confirm: the user admits it (without the bad cases) or refuses it.</summary>
    AwaitingDecision,
    Committing,
    Stored,
    Refused,
    Cancelled,
    Failed,
}

/// <summary>
/// One upload being ingested in the background (or just finished): its progress, its report and, while it awaits a
/// decision, the way to give one. Changed from the ingest's threads; <see cref="Changed"/> tells open pages (throttled).
/// </summary>
public sealed class UploadJob
{
    private readonly object gate = new();
    private readonly TaskCompletionSource<IngestDecision> decision = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTime lastNotified;

    public UploadJob(string ownerId, string name, string fileName, long bytes)
    {
        OwnerId = ownerId;
        Name = name;
        FileName = fileName;
        Bytes = bytes;
    }

    public Guid Id { get; } = Guid.NewGuid();
    public string OwnerId { get; }
    public string Name { get; }
    public string FileName { get; }
    public long Bytes { get; }
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? FinishedAt { get; private set; }
    public UploadState State { get; private set; } = UploadState.Queued;
    public int Done { get; private set; }
    public int Total { get; private set; }
    /// <summary>The refusal or failure in a sentence, or what was stored.</summary>
    public string? Message { get; private set; }
    public IReadOnlyList<DatasetProblem> Problems { get; private set; } = [];
    /// <summary>While awaiting a decision: the report the user decides on.</summary>
    public IngestReview? Review { get; private set; }
    public Guid? DatasetId { get; private set; }
    public int StoredCases { get; private set; }
    public IReadOnlyList<string> LeftOut { get; private set; } = [];
    internal CancellationTokenSource Cancellation { get; } = new();

    public bool IsFinished => State is UploadState.Stored or UploadState.Refused or UploadState.Cancelled or UploadState.Failed;

    /// <summary>Raised at most about five times a second for progress, always for a change of state.</summary>
    public event Action? Changed;

    internal void Report(IngestProgress progress)
    {
        var state = progress.Stage switch
        {
            IngestStage.Unpacking => UploadState.Unpacking,
            IngestStage.Validating => UploadState.Validating,
            _ => UploadState.Committing,
        };
        bool notify;
        lock (gate)
        {
            if (IsFinished || State == UploadState.AwaitingDecision && state != UploadState.Committing) return;
            var stateChanged = state != State;
            State = state;
            Done = Math.Max(stateChanged ? 0 : Done, progress.Done);
            Total = progress.Total;
            var now = DateTime.UtcNow;
            notify = stateChanged || Done == Total || now - lastNotified > TimeSpan.FromMilliseconds(200);
            if (notify) lastNotified = now;
        }
        if (notify) Changed?.Invoke();
    }

    /// <summary>The ingest asks: shows the report and waits for <see cref="Decide"/> (or the hold to expire: refused).</summary>
    internal async Task<IngestDecision> AwaitDecisionAsync(IngestReview review, TimeSpan hold, CancellationToken ct)
    {
        lock (gate)
        {
            Review = review;
            Problems = review.Problems;
            State = UploadState.AwaitingDecision;
        }
        Changed?.Invoke();
        try
        {
            var chosen = await decision.Task.WaitAsync(hold, ct);
            lock (gate) Review = null;
            return chosen;
        }
        catch (TimeoutException)
        {
            Message = $"Nobody decided within {hold.TotalMinutes:F0} minutes, so the upload was refused; nothing was stored.";
            return IngestDecision.Refuse;
        }
    }

    /// <summary>The user's decision; false when the upload is not awaiting one.</summary>
    public bool Decide(IngestDecision chosen) => State == UploadState.AwaitingDecision && decision.TrySetResult(chosen);

    /// <summary>Cancels an upload in progress, or refuses one awaiting a decision; false when it has ended.</summary>
    public bool Cancel()
    {
        if (IsFinished) return false;
        if (State == UploadState.AwaitingDecision && decision.TrySetResult(IngestDecision.Refuse)) return true;
        Cancellation.Cancel();
        return true;
    }

    internal void Finish(UploadState state, string message, IReadOnlyList<DatasetProblem>? problems = null, Guid? datasetId = null,
        int storedCases = 0, IReadOnlyList<string>? leftOut = null)
    {
        lock (gate)
        {
            if (IsFinished) return;
            State = state;
            if (state != UploadState.Refused || Message is null) Message = message; // keeps the hold-expired reason
            if (problems is not null) Problems = problems;
            DatasetId = datasetId;
            StoredCases = storedCases;
            LeftOut = leftOut ?? [];
            Review = null;
            FinishedAt = DateTimeOffset.UtcNow;
        }
        Changed?.Invoke();
    }
}

/// <summary>
/// The uploads of this web node in progress and recently finished (an hour), so a page that was left finds its upload
/// again. In memory on purpose: the archive being ingested lies in this node's staging folder, which a restart cleans, so
/// an upload does not outlive the process that received it.
/// </summary>
public sealed class UploadTracker
{
    public static readonly TimeSpan KeepFinished = TimeSpan.FromHours(1);
    private readonly ConcurrentDictionary<Guid, UploadJob> jobs = new();

    public UploadJob Add(UploadJob job)
    {
        Prune();
        jobs[job.Id] = job;
        return job;
    }

    /// <summary>The upload, when the user started it or is an admin; else null (as if it did not exist).</summary>
    public UploadJob? Get(Guid id, UserContext user) =>
        jobs.TryGetValue(id, out var job) && (job.OwnerId == user.UserId || user.IsAdmin) ? job : null;

    /// <summary>The user's uploads, newest first.</summary>
    public IReadOnlyList<UploadJob> For(UserContext user)
    {
        Prune();
        return [.. jobs.Values.Where(j => j.OwnerId == user.UserId).OrderByDescending(j => j.StartedAt)];
    }

    private void Prune()
    {
        var cutoff = DateTimeOffset.UtcNow - KeepFinished;
        foreach (var (id, job) in jobs)
            if (job.FinishedAt is { } at && at < cutoff) jobs.TryRemove(id, out _);
    }
}
