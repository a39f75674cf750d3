namespace MedSeg.Engine.Metrics;

/// <summary>
/// Which empty-mask rule of the policy (docs/metrics.md) produced a <see cref="MetricValue"/>. <see cref="None"/>: both masks
/// have foreground and the textbook formula applied. Any other reason says which masks were empty; the value may still be
/// defined (both empty → Dice 1, HD95 0; truth empty → Dice 0) or undefined (<see cref="double.NaN"/>: one side empty → HD95).
/// </summary>
public enum EmptyReason
{
    None,
    /// <summary>Ground truth has no foreground, the prediction has some (a false alarm).</summary>
    TruthEmpty,
    /// <summary>Prediction has no foreground, the ground truth has some (a miss).</summary>
    PredictionEmpty,
    /// <summary>Neither has foreground (a correctly negative case).</summary>
    BothEmpty,
    /// <summary>Specificity only: the ground truth is foreground everywhere, so there are no negatives to be specific about.</summary>
    NoTruthNegatives,
}
