namespace MedSeg.Data.Entities;

public enum ExperimentStatus
{
    Queued = 0,
    Running = 1,
    Completed = 2,
    Failed = 3,
    Cancelled = 4,
    /// <summary>The process running it died; it is resumed from its last checkpoint.</summary>
    Interrupted = 5,
}

public sealed class Experiment
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string OwnerId { get; set; }
    public Guid DatasetId { get; set; }
    public Dataset? Dataset { get; set; }
    /// <summary>The dataset version the experiment is pinned to.</summary>
    public int DatasetVersion { get; set; } = 1;
    /// <summary>The saved split it trains on (and which fold), or null for the per-experiment random split of its seed.</summary>
    public Guid? SplitId { get; set; }
    public int? Fold { get; set; }
    public required string Model { get; set; }
    public int Epochs { get; set; }
    public int BatchSize { get; set; }
    public int ImageSize { get; set; }
    public double LearningRate { get; set; }
    public int Seed { get; set; }
    /// <summary>The full configuration snapshot (JSON) as launched.</summary>
    public required string ConfigJson { get; set; }
    public ExperimentStatus Status { get; set; }
    public int CurrentEpoch { get; set; }
    public double? BestDice { get; set; }
    public int? BestEpoch { get; set; }
    public string? Error { get; set; }
    public string? JobId { get; set; }
    /// <summary>Which process holds the run (lease), and when it last reported; a stale lease means the process died.</summary>
    public string? RunnerId { get; set; }
    public DateTimeOffset? HeartbeatAt { get; set; }
    /// <summary>How often the run was started again after its process died (a crashed child, a killed server); bounded by
    /// <c>MedSeg:Jobs:MaxRestarts</c>, then the run is Failed. A user's Resume starts the count again.</summary>
    public int Restarts { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    /// <summary>When it last entered the queue (launch or resume): the queue's order within one user.</summary>
    public DateTimeOffset? QueuedAt { get; set; }
    /// <summary>The group it was launched in (seeds or folds), or null.</summary>
    public Guid? GroupId { get; set; }
    /// <summary>The model variant (read model for lists; the snapshot in <see cref="ConfigJson"/> is the truth).</summary>
    public string? Variant { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public List<ExperimentCase> Cases { get; set; } = [];
    public List<EpochMetric> Metrics { get; set; } = [];
}
