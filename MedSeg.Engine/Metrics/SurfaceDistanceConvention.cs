namespace MedSeg.Engine.Metrics;

/// <summary>
/// How the two directed surface-distance sets (prediction → truth, truth → prediction) are combined. Surfaces and the
/// distances themselves are the same in both (binary erosion XOR, 4-connected cross, outside the image = background,
/// exact spacing-aware Euclidean distance); only the pooling differs.
/// </summary>
public enum SurfaceDistanceConvention
{
    /// <summary>
    /// medpy.metric.binary: HD95 = 95th percentile of the union of both directed sets (<c>numpy.percentile(hstack((d1, d2)), 95)</c>);
    /// ASSD = mean of the two directed means (<c>mean((mean(d1), mean(d2)))</c>). The default.
    /// </summary>
    Medpy,

    /// <summary>
    /// MONAI (<c>compute_hausdorff_distance(percentile=95)</c>, <c>compute_average_surface_distance(symmetric=True)</c>):
    /// HD95 = max of the two directed 95th percentiles; ASSD = mean of the concatenated distances (each surface pixel counts once).
    /// </summary>
    Monai,
}
