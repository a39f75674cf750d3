namespace MedSeg.Engine.Metrics;

/// <summary>
/// Overlap metrics as pure functions of <see cref="ConfusionCounts"/> (one case, one class). The empty-mask policy
/// (docs/metrics.md has the full table, with the distance metrics):
/// <list type="bullet">
/// <item>ground truth and prediction both empty: the prediction is perfect, Dice = IoU = precision = recall = specificity = 1;</item>
/// <item>ground truth empty but something predicted (a false alarm): Dice = IoU = precision = recall = 0 (recall is 0/0 and set
/// to 0 by the policy, so that a false alarm on a normal case scores 0 everywhere); specificity by its formula;</item>
/// <item>ground truth not empty but nothing predicted (a miss): Dice = IoU = recall = 0, and precision (0/0) = 0 too;</item>
/// <item>specificity is undefined (NaN, <see cref="EmptyReason.NoTruthNegatives"/>) when the truth covers the whole image.</item>
/// </list>
/// Otherwise the textbook formulas apply. Average per case, not over pooled pixels, to report a dataset
/// (<see cref="MetricAccumulator"/>). The <c>double</c> functions return <see cref="Evaluate"/>'s value.
/// </summary>
public static class SegmentationMetrics
{
    public static double Dice(ConfusionCounts c) => Evaluate(c, SegmentationMetric.Dice).Value;

    public static double IoU(ConfusionCounts c) => Evaluate(c, SegmentationMetric.IoU).Value;

    public static double Precision(ConfusionCounts c) => Evaluate(c, SegmentationMetric.Precision).Value;

    /// <summary>Recall = sensitivity = TP / (TP + FN).</summary>
    public static double Recall(ConfusionCounts c) => Evaluate(c, SegmentationMetric.Recall).Value;

    /// <summary>Specificity = TN / (TN + FP); NaN when the truth has no negatives.</summary>
    public static double Specificity(ConfusionCounts c) => Evaluate(c, SegmentationMetric.Specificity).Value;

    /// <summary>An overlap metric with the empty-mask rule that produced it. Distance metrics need <see cref="SurfaceDistances"/>.</summary>
    public static MetricValue Evaluate(ConfusionCounts c, SegmentationMetric metric)
    {
        var empty = c.Emptiness;
        if (metric == SegmentationMetric.Specificity)
            return c.Tn + c.Fp == 0
                ? MetricValue.Undefined(EmptyReason.NoTruthNegatives)
                : new MetricValue((double)c.Tn / (c.Tn + c.Fp), empty);
        if (empty == EmptyReason.BothEmpty)
        {
            return metric switch
            {
                SegmentationMetric.Dice or SegmentationMetric.IoU or SegmentationMetric.Precision or SegmentationMetric.Recall =>
                    new MetricValue(1.0, empty),
                _ => throw NotAnOverlapMetric(metric),
            };
        }
        var value = metric switch
        {
            SegmentationMetric.Dice => 2.0 * c.Tp / (2.0 * c.Tp + c.Fp + c.Fn),
            SegmentationMetric.IoU => (double)c.Tp / (c.Tp + c.Fp + c.Fn),
            SegmentationMetric.Precision => c.PredictedPositives == 0 ? 0.0 : (double)c.Tp / c.PredictedPositives,
            SegmentationMetric.Recall => c.TruthPositives == 0 ? 0.0 : (double)c.Tp / c.TruthPositives,
            _ => throw NotAnOverlapMetric(metric),
        };
        return new MetricValue(value, empty);
    }

    private static ArgumentException NotAnOverlapMetric(SegmentationMetric metric) =>
        new($"{metric} is a surface distance metric; compute it with SurfaceDistances or CaseMetrics.", nameof(metric));
}
