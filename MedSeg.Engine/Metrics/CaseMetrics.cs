namespace MedSeg.Engine.Metrics;

/// <summary>
/// Every metric of one case and one class: overlap metrics from <see cref="Counts"/>, HD95 and ASSD from <see cref="Surface"/>
/// (absent when surface distances were not computed; then <see cref="Has"/> is false for them).
/// </summary>
public sealed class CaseMetrics
{
    public CaseMetrics(ConfusionCounts counts, SurfaceDistances? surface = null,
        SurfaceDistanceConvention convention = SurfaceDistanceConvention.Medpy)
    {
        if (surface is not null && surface.Emptiness != counts.Emptiness)
            throw new ArgumentException($"Counts say {counts.Emptiness} but the surface distances say {surface.Emptiness}: they are of different masks.");
        Counts = counts;
        Surface = surface;
        Convention = convention;
    }

    public ConfusionCounts Counts { get; }
    public SurfaceDistances? Surface { get; }
    public SurfaceDistanceConvention Convention { get; }

    /// <summary>Metrics of binary masks (non-zero = foreground), row-major height × width.</summary>
    public static CaseMetrics Compute(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, int height, int width,
        PixelSpacing? spacing = null, bool surfaceDistances = true, SurfaceDistanceConvention convention = SurfaceDistanceConvention.Medpy)
    {
        var counts = ConfusionCounts.From(prediction, truth);
        var surface = surfaceDistances ? SurfaceDistances.Compute(prediction, truth, height, width, spacing ?? PixelSpacing.Unit) : null;
        return new CaseMetrics(counts, surface, convention);
    }

    public MetricValue Dice => this[SegmentationMetric.Dice];
    public MetricValue IoU => this[SegmentationMetric.IoU];
    public MetricValue Precision => this[SegmentationMetric.Precision];
    public MetricValue Recall => this[SegmentationMetric.Recall];
    public MetricValue Specificity => this[SegmentationMetric.Specificity];
    public MetricValue Hd95 => this[SegmentationMetric.Hd95];
    public MetricValue Assd => this[SegmentationMetric.Assd];

    public bool Has(SegmentationMetric metric) => !metric.IsDistance() || Surface is not null;

    public MetricValue this[SegmentationMetric metric] => metric switch
    {
        SegmentationMetric.Hd95 => RequireSurface(metric).Hd95(Convention),
        SegmentationMetric.Assd => RequireSurface(metric).Assd(Convention),
        _ => SegmentationMetrics.Evaluate(Counts, metric),
    };

    private SurfaceDistances RequireSurface(SegmentationMetric metric) =>
        Surface ?? throw new InvalidOperationException($"{metric} needs surface distances, which were not computed for this case.");
}
