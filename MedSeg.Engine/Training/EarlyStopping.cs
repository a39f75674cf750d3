namespace MedSeg.Engine.Training;

/// <summary>
/// Stops when validation Dice has not improved by more than <c>minDelta</c> over the best so far for <c>patience</c>
/// epochs in a row. Its state (best, count) is stored in the checkpoint so a resumed run stops at the same epoch.
/// </summary>
public sealed class EarlyStopping(int patience, double minDelta, double best = double.NegativeInfinity, int epochsWithoutImprovement = 0)
{
    public int Patience { get; } = patience >= 1 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), "Patience must be at least 1 epoch.");
    public double MinDelta { get; } = minDelta >= 0 ? minDelta : throw new ArgumentOutOfRangeException(nameof(minDelta), "MinDelta must not be negative.");
    public double Best { get; private set; } = best;
    public int EpochsWithoutImprovement { get; private set; } = epochsWithoutImprovement;

    /// <summary>Records one epoch's validation Dice; true when training should stop.</summary>
    public bool Update(double dice)
    {
        if (dice > Best + MinDelta)
        {
            Best = dice;
            EpochsWithoutImprovement = 0;
        }
        else
        {
            EpochsWithoutImprovement++;
        }
        return EpochsWithoutImprovement >= Patience;
    }
}
