namespace MedSeg.Engine.Metrics;

/// <summary>What a <see cref="MetricAccumulator"/> evaluates and how it counts empty cases.</summary>
public sealed record MetricAccumulatorOptions
{
    /// <summary>
    /// Number of label values including background 0. 2 = binary: any non-zero pixel is foreground (0/1 and 0/255 masks both work).
    /// More: pixel values are class labels 0 … NumClasses − 1, and each class is scored one-vs-rest.
    /// </summary>
    public int NumClasses { get; init; } = 2;

    /// <summary>Score class 0 (background) too, as MONAI's <c>include_background</c>. Off by default.</summary>
    public bool IncludeBackground { get; init; }

    /// <summary>Compute HD95 and ASSD (costs two distance transforms per case and class). On by default.</summary>
    public bool SurfaceDistances { get; init; } = true;

    public SurfaceDistanceConvention Convention { get; init; } = SurfaceDistanceConvention.Medpy;

    /// <summary>Pixel spacing used when an <c>Update</c> call gives none.</summary>
    public PixelSpacing Spacing { get; init; } = PixelSpacing.Unit;

    /// <summary>
    /// Exclude (case, class) pairs where truth and prediction are both empty from every aggregate instead of scoring them
    /// as perfect (nnU-Net's summary does this: its Dice is NaN there). Off by default: a correctly empty prediction counts.
    /// </summary>
    public bool ExcludeBothEmpty { get; init; }

    /// <summary>The class indices scored: 1 … NumClasses − 1, plus 0 with <see cref="IncludeBackground"/>.</summary>
    public IReadOnlyList<int> EvaluatedClasses => [.. Enumerable.Range(IncludeBackground ? 0 : 1, IncludeBackground ? NumClasses : NumClasses - 1)];

    /// <summary>The metrics reported: the five overlap metrics, plus HD95 and ASSD with <see cref="SurfaceDistances"/>.</summary>
    public IReadOnlyList<SegmentationMetric> Metrics =>
        [.. Enum.GetValues<SegmentationMetric>().Where(m => SurfaceDistances || !m.IsDistance())];
}
