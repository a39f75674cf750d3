namespace MedSeg.Data.Entities;

public sealed class EpochMetric
{
    public long Id { get; set; }
    public Guid ExperimentId { get; set; }
    public int Epoch { get; set; }
    public double TrainLoss { get; set; }
    public double ValidationLoss { get; set; }
    public double ValidationDice { get; set; }
    public double ValidationIoU { get; set; }
    public double LearningRate { get; set; }
    public double Seconds { get; set; }
    /// <summary>Multi-class: mean validation Dice of each foreground class 1 … K − 1, JSON array; null for binary.</summary>
    public string? ClassDiceJson { get; set; }
    /// <summary>Volume datasets: the validation volumes scored whole (slices stacked back), mean Dice of each foreground class,
    /// JSON array; null otherwise.</summary>
    public string? VolumeDiceJson { get; set; }
    public DateTimeOffset At { get; set; } = DateTimeOffset.UtcNow;
}
