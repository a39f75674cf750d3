namespace MedSeg.Data.Entities;

/// <summary>A completed run's measurement, made once by its training child after the evaluation (leaderboard members):
/// size at the run's input size, batch-1 latency on the server that trained it, the validation HD95, and the training
/// child's peak resident memory. One row per experiment, deleted with it.</summary>
public sealed class ExperimentProfile
{
    public Guid ExperimentId { get; set; }
    public long? Parameters { get; set; }
    /// <summary>Multiply-accumulates of one forward pass at <see cref="ImageSize"/>.</summary>
    public long? Macs { get; set; }
    public int ImageSize { get; set; }
    /// <summary>Median batch-1 forward time through the predictor's fast path, in milliseconds.</summary>
    public double? LatencyMs { get; set; }
    /// <summary>Where the latency was measured ("cpu", "cuda:0").</summary>
    public string? Device { get; set; }
    /// <summary>Mean validation HD95 in pixels over the cases where it is defined; null when none is.</summary>
    public double? Hd95 { get; set; }
    /// <summary>The largest resident memory of the training child (bytes), over its restarts.</summary>
    public long? PeakMemoryBytes { get; set; }
    /// <summary>Why the measurement could not be made (the run still completed).</summary>
    public string? Error { get; set; }
    public DateTimeOffset MeasuredAt { get; set; } = DateTimeOffset.UtcNow;
}
