namespace MedSeg.Engine.Metrics;

/// <summary>The per-case metrics the engine reports. Overlap metrics come from <see cref="ConfusionCounts"/>, the last two from <see cref="SurfaceDistances"/>.</summary>
public enum SegmentationMetric
{
    Dice,
    IoU,
    Precision,
    /// <summary>Recall = sensitivity = true positive rate.</summary>
    Recall,
    Specificity,
    /// <summary>95th percentile Hausdorff distance in mm (convention: <see cref="SurfaceDistanceConvention"/>).</summary>
    Hd95,
    /// <summary>Average symmetric surface distance in mm (convention: <see cref="SurfaceDistanceConvention"/>).</summary>
    Assd,
}

public static class SegmentationMetricExtensions
{
    /// <summary>True for metrics where smaller is better (distances in mm).</summary>
    public static bool IsDistance(this SegmentationMetric metric) => metric is SegmentationMetric.Hd95 or SegmentationMetric.Assd;
}
