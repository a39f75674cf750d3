namespace MedSeg.Engine.Metrics;

/// <summary>
/// Directed surface distances between one binary prediction and its ground truth, in mm, and the HD95 / ASSD built on them.
/// <para>
/// Surface (as medpy's <c>__surface_distances</c> and MONAI's <c>get_mask_edges</c>): <c>mask XOR binary_erosion(mask)</c> with
/// the 4-connected cross and scipy's default <c>border_value=0</c>, i.e. every foreground pixel that has a 4-neighbour in the
/// background <em>or lies on the image border</em>. Directed distance: for each surface pixel of one mask, the exact Euclidean
/// distance (with pixel spacing) to the nearest surface pixel of the other (<see cref="EuclideanDistanceTransform"/>).
/// </para>
/// <para>
/// Empty policy: both masks empty → HD95 = ASSD = 0 (<see cref="EmptyReason.BothEmpty"/>); exactly one empty → undefined
/// (<see cref="double.NaN"/> with <see cref="EmptyReason.TruthEmpty"/> or <see cref="EmptyReason.PredictionEmpty"/>), where MONAI
/// gives +∞ and medpy raises. A non-empty mask always has at least one surface pixel, so "empty" = "no surface".
/// </para>
/// </summary>
public sealed class SurfaceDistances
{
    private SurfaceDistances(double[] predictionToTruth, double[] truthToPrediction, EmptyReason emptiness)
    {
        PredictionToTruth = predictionToTruth;
        TruthToPrediction = truthToPrediction;
        Emptiness = emptiness;
    }

    /// <summary>For every prediction surface pixel (row-major order), the distance in mm to the nearest truth surface pixel.
    /// Empty when either mask is empty.</summary>
    public IReadOnlyList<double> PredictionToTruth { get; }

    /// <summary>For every truth surface pixel, the distance in mm to the nearest prediction surface pixel. Empty when either mask is empty.</summary>
    public IReadOnlyList<double> TruthToPrediction { get; }

    /// <summary>Which masks were empty (<see cref="EmptyReason.None"/> when both have foreground).</summary>
    public EmptyReason Emptiness { get; }

    /// <summary>Surface distances of binary masks (any non-zero byte is foreground), row-major height × width.</summary>
    public static SurfaceDistances Compute(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, int height, int width, PixelSpacing spacing)
    {
        if (prediction.Length != truth.Length)
            throw new ArgumentException($"Prediction has {prediction.Length} pixels but the truth has {truth.Length}.");
        var predictionSurface = Surface(prediction, height, width);
        var truthSurface = Surface(truth, height, width);
        var predictionEmpty = !predictionSurface.AsSpan().Contains(true);
        var truthEmpty = !truthSurface.AsSpan().Contains(true);
        var emptiness = (predictionEmpty, truthEmpty) switch
        {
            (true, true) => EmptyReason.BothEmpty,
            (false, true) => EmptyReason.TruthEmpty,
            (true, false) => EmptyReason.PredictionEmpty,
            _ => EmptyReason.None,
        };
        if (emptiness != EmptyReason.None) return new SurfaceDistances([], [], emptiness);
        return new SurfaceDistances(
            Directed(predictionSurface, truthSurface, height, width, spacing),
            Directed(truthSurface, predictionSurface, height, width, spacing),
            EmptyReason.None);
    }

    /// <summary>
    /// Surface pixels of a binary mask: foreground pixels with a 4-connected background neighbour or on the image border
    /// (= <c>mask ^ scipy.ndimage.binary_erosion(mask)</c> with the default cross structure and <c>border_value=0</c>).
    /// </summary>
    public static bool[] Surface(ReadOnlySpan<byte> mask, int height, int width)
    {
        if (height < 0 || width < 0 || (long)height * width != mask.Length)
            throw new ArgumentException($"A {height}×{width} image needs {(long)height * width} pixels, got {mask.Length}.");
        var surface = new bool[mask.Length];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                if (mask[i] == 0) continue;
                surface[i] = y == 0 || x == 0 || y == height - 1 || x == width - 1
                    || mask[i - width] == 0 || mask[i + width] == 0 || mask[i - 1] == 0 || mask[i + 1] == 0;
            }
        }
        return surface;
    }

    /// <summary>
    /// Hausdorff distance at <paramref name="percentile"/> (0–100; 100 = the classic maximum, where both conventions agree),
    /// with numpy's default linear interpolation between order statistics.
    /// </summary>
    public MetricValue Hausdorff(double percentile = 95, SurfaceDistanceConvention convention = SurfaceDistanceConvention.Medpy)
    {
        if (!(percentile >= 0 && percentile <= 100))
            throw new ArgumentOutOfRangeException(nameof(percentile), $"Percentile must be between 0 and 100, got {percentile}.");
        if (Emptiness != EmptyReason.None) return EmptyValue();
        var value = convention switch
        {
            SurfaceDistanceConvention.Medpy => Percentile([.. PredictionToTruth, .. TruthToPrediction], percentile),
            SurfaceDistanceConvention.Monai => Math.Max(Percentile([.. PredictionToTruth], percentile), Percentile([.. TruthToPrediction], percentile)),
            _ => throw new ArgumentOutOfRangeException(nameof(convention)),
        };
        return MetricValue.Of(value);
    }

    /// <summary>95th percentile Hausdorff distance in mm.</summary>
    public MetricValue Hd95(SurfaceDistanceConvention convention = SurfaceDistanceConvention.Medpy) => Hausdorff(95, convention);

    /// <summary>Average symmetric surface distance in mm.</summary>
    public MetricValue Assd(SurfaceDistanceConvention convention = SurfaceDistanceConvention.Medpy)
    {
        if (Emptiness != EmptyReason.None) return EmptyValue();
        var value = convention switch
        {
            SurfaceDistanceConvention.Medpy => (PredictionToTruth.Average() + TruthToPrediction.Average()) / 2,
            SurfaceDistanceConvention.Monai => (PredictionToTruth.Sum() + TruthToPrediction.Sum()) / (PredictionToTruth.Count + TruthToPrediction.Count),
            _ => throw new ArgumentOutOfRangeException(nameof(convention)),
        };
        return MetricValue.Of(value);
    }

    /// <summary>numpy.percentile(values, p) with the default linear interpolation; sorts <paramref name="values"/> in place.</summary>
    public static double Percentile(double[] values, double percentile)
    {
        if (values.Length == 0) throw new ArgumentException("Percentile of an empty set.", nameof(values));
        Array.Sort(values);
        var rank = percentile / 100 * (values.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, values.Length - 1);
        return values[lo] + (values[hi] - values[lo]) * (rank - lo);
    }

    private MetricValue EmptyValue() =>
        Emptiness == EmptyReason.BothEmpty ? new MetricValue(0, EmptyReason.BothEmpty) : MetricValue.Undefined(Emptiness);

    private static double[] Directed(bool[] from, bool[] to, int height, int width, PixelSpacing spacing)
    {
        var squared = EuclideanDistanceTransform.Squared(to, height, width, spacing);
        var distances = new List<double>();
        for (var i = 0; i < from.Length; i++)
            if (from[i]) distances.Add(Math.Sqrt(squared[i]));
        return [.. distances];
    }
}
