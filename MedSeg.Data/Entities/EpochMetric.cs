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
    public DateTimeOffset At { get; set; } = DateTimeOffset.UtcNow;
}
