namespace MedSeg.Engine.Metrics;

/// <summary>
/// What <see cref="MetricAccumulator.Compute"/> returns: per class and per metric aggregates, and <see cref="Overall"/> pooling every
/// (case, class) value of a metric (for binary segmentation, class 1 alone, so Overall = PerClass[1]).
/// </summary>
public sealed record MetricSummary(
    int Cases,
    IReadOnlyList<int> Classes,
    IReadOnlyDictionary<int, IReadOnlyDictionary<SegmentationMetric, MetricAggregate>> PerClass,
    IReadOnlyDictionary<SegmentationMetric, MetricAggregate> Overall)
{
    public MetricAggregate this[SegmentationMetric metric] => Overall[metric];
}
