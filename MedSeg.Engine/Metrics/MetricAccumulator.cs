using static TorchSharp.torch;

namespace MedSeg.Engine.Metrics;

/// <summary>
/// Accumulates per-case, per-class metrics over an evaluation (MONAI style): <see cref="Update(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int, int, PixelSpacing?)"/>
/// per case or batch, <see cref="Compute"/> for the aggregates, <see cref="Reset"/> before the next epoch. Undefined values
/// (see <see cref="SegmentationMetrics"/> and <see cref="SurfaceDistances"/> for the empty policy) are excluded from the
/// aggregates and counted with their reason. Never touches autograd. Not thread-safe: one per evaluation loop.
/// </summary>
public sealed class MetricAccumulator(MetricAccumulatorOptions? options = null)
{
    private readonly Dictionary<(int Class, SegmentationMetric Metric), List<MetricValue>> values = [];

    public MetricAccumulatorOptions Options { get; } = Validate(options ?? new MetricAccumulatorOptions());

    /// <summary>Cases seen since construction or the last <see cref="Reset"/>.</summary>
    public int Cases { get; private set; }

    /// <summary>
    /// Adds one case's already computed metrics of class <paramref name="classIndex"/> (1 = foreground of a binary task); it
    /// counts as a new case when <paramref name="newCase"/>. Class 0 is skipped unless <see cref="MetricAccumulatorOptions.IncludeBackground"/>.
    /// </summary>
    public void Update(CaseMetrics metrics, int classIndex = 1, bool newCase = true)
    {
        if (classIndex < 0 || classIndex >= Options.NumClasses)
            throw new ArgumentOutOfRangeException(nameof(classIndex), $"Class {classIndex} is outside 0 … {Options.NumClasses - 1}.");
        if (Options.SurfaceDistances && metrics.Surface is null)
            throw new ArgumentException("This accumulator reports HD95 and ASSD but the case has no surface distances; compute them or set SurfaceDistances = false.", nameof(metrics));
        if (newCase) Cases++;
        if (classIndex == 0 && !Options.IncludeBackground) return;
        foreach (var metric in Options.Metrics)
        {
            var key = (classIndex, metric);
            if (!values.TryGetValue(key, out var list)) values[key] = list = [];
            list.Add(metrics[metric]);
        }
    }

    /// <summary>
    /// Adds one case from its predicted and true masks (row-major height × width): binary masks (non-zero = foreground) when
    /// <see cref="MetricAccumulatorOptions.NumClasses"/> is 2, label maps otherwise.
    /// </summary>
    public void Update(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, int height, int width, PixelSpacing? spacing = null)
    {
        if (prediction.Length != truth.Length || (long)height * width != prediction.Length)
            throw new ArgumentException($"Prediction ({prediction.Length} pixels) and truth ({truth.Length}) must both be {height}×{width}.");
        var s = spacing ?? Options.Spacing;
        var binary = Options.NumClasses == 2;
        if (!binary) CheckLabels(prediction, "prediction");
        if (!binary) CheckLabels(truth, "truth");
        Cases++;
        var p = new byte[prediction.Length];
        var t = new byte[truth.Length];
        foreach (var k in Options.EvaluatedClasses)
        {
            for (var i = 0; i < p.Length; i++)
            {
                p[i] = (byte)(IsClass(prediction[i], k, binary) ? 1 : 0);
                t[i] = (byte)(IsClass(truth[i], k, binary) ? 1 : 0);
            }
            Update(CaseMetrics.Compute(p, t, height, width, s, Options.SurfaceDistances, Options.Convention), k, newCase: false);
        }
    }

    /// <summary>
    /// Adds a batch: N×H×W or N×1×H×W tensors of labels (any integer type), 0/1 numbers or bools, one case per item. Detached
    /// and copied to the CPU under <c>no_grad</c>; the spacing applies to every item.
    /// </summary>
    public void Update(Tensor prediction, Tensor truth, PixelSpacing? spacing = null)
    {
        if (!prediction.shape.SequenceEqual(truth.shape))
            throw new ArgumentException($"Prediction ({string.Join("×", prediction.shape)}) and truth ({string.Join("×", truth.shape)}) must have the same shape.");
        var shape = prediction.shape;
        if (!(shape.Length == 3 || (shape.Length == 4 && shape[1] == 1)))
            throw new ArgumentException($"Expected N×H×W or N×1×H×W label tensors, got {string.Join("×", shape)}.");
        int n = (int)shape[0], h = (int)shape[^2], w = (int)shape[^1];
        var p = ToBytes(prediction, "prediction");
        var t = ToBytes(truth, "truth");
        var size = h * w;
        for (var i = 0; i < n; i++)
            Update(p.AsSpan(i * size, size), t.AsSpan(i * size, size), h, w, spacing);
    }

    /// <summary>Aggregates of every evaluated class and metric (classes never updated get all-NaN aggregates with zero counts).</summary>
    public MetricSummary Compute()
    {
        var classes = Options.EvaluatedClasses;
        var perClass = new Dictionary<int, IReadOnlyDictionary<SegmentationMetric, MetricAggregate>>();
        foreach (var k in classes)
            perClass[k] = Options.Metrics.ToDictionary(m => m, m => MetricAggregate.From(Values(k, m), Options.ExcludeBothEmpty));
        var overall = Options.Metrics.ToDictionary(m => m,
            m => MetricAggregate.From(classes.SelectMany(k => Values(k, m)), Options.ExcludeBothEmpty));
        return new MetricSummary(Cases, classes, perClass, overall);
    }

    /// <summary>The per-case values of one class and metric, in update order (for per-case tables).</summary>
    public IReadOnlyList<MetricValue> Values(int classIndex, SegmentationMetric metric) =>
        values.TryGetValue((classIndex, metric), out var list) ? list : [];

    public void Reset()
    {
        values.Clear();
        Cases = 0;
    }

    private static bool IsClass(byte value, int k, bool binary) => binary ? (k == 0 ? value == 0 : value != 0) : value == k;

    private void CheckLabels(ReadOnlySpan<byte> labels, string what)
    {
        foreach (var v in labels)
            if (v >= Options.NumClasses)
                throw new ArgumentException($"The {what} has label {v}, but labels must be 0 … {Options.NumClasses - 1} for {Options.NumClasses} classes.");
    }

    private static byte[] ToBytes(Tensor labels, string what)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var t = labels.detach().cpu();
        if (t.is_floating_point() && t.ne(t.round()).any().item<bool>())
            throw new ArgumentException($"The {what} tensor holds fractional values; pass thresholded masks or argmax labels, not probabilities.");
        var longs = t.to_type(ScalarType.Int64).contiguous();
        if (longs.numel() > 0 && (longs.min().item<long>() < 0 || longs.max().item<long>() > byte.MaxValue))
            throw new ArgumentException($"The {what} tensor has labels outside 0 … 255.");
        return longs.to_type(ScalarType.Byte).data<byte>().ToArray();
    }

    private static MetricAccumulatorOptions Validate(MetricAccumulatorOptions o)
    {
        if (o.NumClasses < 2 || o.NumClasses > 256)
            throw new ArgumentOutOfRangeException(nameof(options), $"NumClasses must be 2 … 256 (background included), got {o.NumClasses}.");
        return o;
    }
}
