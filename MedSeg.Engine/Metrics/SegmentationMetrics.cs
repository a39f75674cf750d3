namespace MedSeg.Engine.Metrics;

/// <summary>
/// Overlap metrics as pure functions of <see cref="ConfusionCounts"/> (one case). Empty-mask policy, stated once:
/// <list type="bullet">
/// <item>ground truth and prediction both empty: the prediction is perfect, Dice = IoU = precision = recall = 1;</item>
/// <item>ground truth empty but something predicted: every metric is 0 (a false alarm on a normal case is a failure);</item>
/// <item>ground truth not empty but nothing predicted: Dice = IoU = recall = 0, and precision = 0 too (nothing found).</item>
/// </list>
/// Otherwise the textbook formulas apply. Average per case, not over pooled pixels, to report a dataset.
/// </summary>
public static class SegmentationMetrics
{
    public static double Dice(ConfusionCounts c) =>
        BothEmpty(c) ? 1.0 : 2.0 * c.Tp / (2.0 * c.Tp + c.Fp + c.Fn);

    public static double IoU(ConfusionCounts c) =>
        BothEmpty(c) ? 1.0 : (double)c.Tp / (c.Tp + c.Fp + c.Fn);

    public static double Precision(ConfusionCounts c) =>
        BothEmpty(c) ? 1.0 : c.PredictedPositives == 0 ? 0.0 : (double)c.Tp / c.PredictedPositives;

    public static double Recall(ConfusionCounts c) =>
        BothEmpty(c) ? 1.0 : c.TruthPositives == 0 ? 0.0 : (double)c.Tp / c.TruthPositives;

    private static bool BothEmpty(ConfusionCounts c) => c.Tp + c.Fp + c.Fn == 0;
}
