namespace MedSeg.Engine.Metrics;

/// <summary>Voxel size of a stacked volume in mm: between slices, between rows, between columns.</summary>
public sealed record VoxelSpacing(double Slice, double Row, double Column)
{
    public bool IsValid => Slice > 0 && Row > 0 && Column > 0 && double.IsFinite(Slice) && double.IsFinite(Row) && double.IsFinite(Column);
}

/// <summary>One volume scored whole: its 2D slices stacked back into 3D.</summary>
/// <param name="Volume">The volume's case id (the slices' group key).</param>
/// <param name="Slices">How many slices of the volume were scored (slices missing in between count as background).</param>
/// <param name="Dice">Dice of each foreground class over the whole volume: binary models one entry (non-zero = foreground),
/// multi-class models classes 1 … K − 1. A class absent from both truth and prediction scores 1 (docs/metrics.md).</param>
/// <param name="Hd95Mm">3D HD95 in mm per foreground class (medpy convention, 6-connected surfaces); 0 when the class is
/// absent from both, null when it is absent from exactly one or when the distances were not computed (no slice spacing).</param>
public sealed record VolumeResult(string Volume, int Slices, IReadOnlyList<double> Dice, IReadOnlyList<double?> Hd95Mm);

/// <summary>
/// Stacks the predicted and true label slices of one volume and scores the volume as a whole. Slices are placed by their
/// index along the slicing axis; an index between the lowest and the highest given that has no slice (an empty slice the
/// import dropped) is background in both truth and prediction, so it adds true negatives only: it never changes Dice and
/// adds no surface. The 3D surface is every foreground voxel with a 6-connected background neighbour or on the stack's
/// border (the 3D form of <see cref="SurfaceDistances.Surface"/>); distances are exact (<see cref="EuclideanDistanceTransform.Squared3D"/>).
/// </summary>
public sealed class VolumeStack(string volume, int rows, int columns)
{
    private readonly SortedDictionary<int, (byte[] Predicted, byte[] Truth)> slices = [];

    public string Volume { get; } = volume;
    public int Rows { get; } = rows;
    public int Columns { get; } = columns;
    public int Slices => slices.Count;

    /// <summary>Adds slice <paramref name="index"/>: label maps of Rows × Columns (row-major).</summary>
    public void Add(int index, ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth)
    {
        if (index < 0) throw new ArgumentOutOfRangeException(nameof(index), $"volume '{Volume}': slice index {index} is negative.");
        var n = Rows * Columns;
        if (predicted.Length != n || truth.Length != n)
            throw new InvalidDataException($"volume '{Volume}': slice {index} is {predicted.Length} (prediction) / {truth.Length} (truth) pixels, " +
                $"its other slices {Rows} × {Columns}; the slices of one volume must have one size.");
        if (!slices.TryAdd(index, (predicted.ToArray(), truth.ToArray())))
            throw new InvalidDataException($"volume '{Volume}': slice {index} is given twice; each slice index of a volume must be one case.");
    }

    /// <summary>The stacked label volumes, depth × rows × columns (slice-major), from the lowest to the highest slice index.</summary>
    public (byte[] Predicted, byte[] Truth, int Depth) Stack()
    {
        if (slices.Count == 0) return ([], [], 0);
        var first = slices.Keys.First();
        var depth = slices.Keys.Last() - first + 1;
        var plane = Rows * Columns;
        var predicted = new byte[(long)depth * plane];
        var truth = new byte[(long)depth * plane];
        foreach (var (index, (p, t)) in slices)
        {
            p.CopyTo(predicted, (long)(index - first) * plane);
            t.CopyTo(truth, (long)(index - first) * plane);
        }
        return (predicted, truth, depth);
    }

    /// <summary>Dice (and, with <paramref name="spacing"/>, HD95 in mm) of each foreground class of the stacked volume;
    /// <paramref name="classes"/> is the model's output count (1 = binary).</summary>
    public VolumeResult Score(int classes, VoxelSpacing? spacing)
    {
        var (predicted, truth, depth) = Stack();
        var labels = classes == 1 ? [1] : Enumerable.Range(1, classes - 1).ToArray();
        var dice = new double[labels.Length];
        var hd95 = new double?[labels.Length];
        var p = new byte[predicted.Length];
        var t = new byte[truth.Length];
        for (var k = 0; k < labels.Length; k++)
        {
            var label = labels[k];
            for (var i = 0; i < p.Length; i++)
            {
                p[i] = classes == 1 ? (byte)(predicted[i] != 0 ? 1 : 0) : (byte)(predicted[i] == label ? 1 : 0);
                t[i] = classes == 1 ? (byte)(truth[i] != 0 ? 1 : 0) : (byte)(truth[i] == label ? 1 : 0);
            }
            dice[k] = SegmentationMetrics.Dice(ConfusionCounts.From(p, t));
            if (spacing is { IsValid: true } s) hd95[k] = Hd95(p, t, depth, Rows, Columns, s);
        }
        return new VolumeResult(Volume, Slices, dice, hd95);
    }

    /// <summary>3D HD95 in mm of binary volumes (medpy convention: the 95th percentile of both directed distance sets
    /// together); 0 when both are empty, null when exactly one is.</summary>
    public static double? Hd95(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, int depth, int rows, int columns, VoxelSpacing spacing)
    {
        var ps = Surface(prediction, depth, rows, columns);
        var ts = Surface(truth, depth, rows, columns);
        var (pe, te) = (!ps.AsSpan().Contains(true), !ts.AsSpan().Contains(true));
        if (pe && te) return 0;
        if (pe || te) return null;
        var toTruth = EuclideanDistanceTransform.Squared3D(ts, depth, rows, columns, spacing.Slice, spacing.Row, spacing.Column);
        var toPrediction = EuclideanDistanceTransform.Squared3D(ps, depth, rows, columns, spacing.Slice, spacing.Row, spacing.Column);
        var distances = new List<double>();
        for (var i = 0; i < ps.Length; i++)
        {
            if (ps[i]) distances.Add(Math.Sqrt(toTruth[i]));
            if (ts[i]) distances.Add(Math.Sqrt(toPrediction[i]));
        }
        return SurfaceDistances.Percentile([.. distances], 95);
    }

    /// <summary>Foreground voxels with a 6-connected background neighbour or on the border (<c>mask ^ binary_erosion(mask)</c>
    /// with scipy's 3D cross and <c>border_value=0</c>).</summary>
    public static bool[] Surface(ReadOnlySpan<byte> mask, int depth, int rows, int columns)
    {
        var plane = rows * columns;
        if ((long)depth * plane != mask.Length)
            throw new ArgumentException($"A {depth}×{rows}×{columns} volume needs {(long)depth * plane} voxels, got {mask.Length}.");
        var surface = new bool[mask.Length];
        for (var z = 0; z < depth; z++)
        for (var y = 0; y < rows; y++)
        for (var x = 0; x < columns; x++)
        {
            var i = z * plane + y * columns + x;
            if (mask[i] == 0) continue;
            surface[i] = z == 0 || y == 0 || x == 0 || z == depth - 1 || y == rows - 1 || x == columns - 1
                || mask[i - plane] == 0 || mask[i + plane] == 0 || mask[i - columns] == 0 || mask[i + columns] == 0
                || mask[i - 1] == 0 || mask[i + 1] == 0;
        }
        return surface;
    }
}

/// <summary>Collects the slices of many volumes (<see cref="VolumeStack"/> per volume id) and scores them.</summary>
public sealed class VolumeScorer
{
    private readonly Dictionary<string, VolumeStack> volumes = new(StringComparer.Ordinal);

    public int Count => volumes.Count;

    public void Add(string volume, int slice, ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth, int rows, int columns)
    {
        if (!volumes.TryGetValue(volume, out var stack)) volumes[volume] = stack = new VolumeStack(volume, rows, columns);
        stack.Add(slice, predicted, truth);
    }

    /// <summary>Every volume scored, ordered by id; <paramref name="spacing"/> (null: Dice only) gives each volume's voxel size.</summary>
    public IReadOnlyList<VolumeResult> Score(int classes, Func<string, VoxelSpacing?>? spacing = null) =>
        [.. volumes.Values.OrderBy(v => v.Volume, StringComparer.Ordinal).Select(v => v.Score(classes, spacing?.Invoke(v.Volume)))];

    /// <summary>The mean over volumes of each class's Dice; null when there are no volumes.</summary>
    public static IReadOnlyList<double>? MeanDice(IReadOnlyList<VolumeResult> results) =>
        results.Count == 0 ? null : [.. Enumerable.Range(0, results[0].Dice.Count).Select(k => results.Average(r => r.Dice[k]))];
}
