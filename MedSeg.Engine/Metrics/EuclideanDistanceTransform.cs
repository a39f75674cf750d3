namespace MedSeg.Engine.Metrics;

/// <summary>
/// Exact Euclidean distance transform of a 2D binary image with per-axis pixel spacing, after Felzenszwalb &amp; Huttenlocher,
/// "Distance Transforms of Sampled Functions" (Theory of Computing 8, 2012): the squared distance is separable, so a 1D lower
/// envelope of parabolas is run along every column and then along every row, O(H·W) in all. Matches
/// <c>scipy.ndimage.distance_transform_edt(~feature, sampling=(sy, sx))</c> (squared here; take the square root).
/// </summary>
public static class EuclideanDistanceTransform
{
    /// <summary>
    /// Squared distance in mm² from every pixel to the nearest <paramref name="feature"/> pixel (row-major, height × width).
    /// Feature pixels get 0; with no feature pixel at all, every entry is <see cref="double.PositiveInfinity"/>.
    /// </summary>
    public static double[] Squared(ReadOnlySpan<bool> feature, int height, int width, PixelSpacing spacing)
    {
        if (height < 0 || width < 0 || (long)height * width != feature.Length)
            throw new ArgumentException($"A {height}×{width} image needs {(long)height * width} pixels, got {feature.Length}.");
        var result = new double[feature.Length];
        var n = Math.Max(height, width);
        var f = new double[n];
        var d = new double[n];
        var v = new int[n];
        var z = new double[n + 1];

        // Pass 1, along each column (y): 0 on features, +∞ elsewhere.
        var sy2 = spacing.Y * spacing.Y;
        for (var x = 0; x < width; x++)
        {
            for (var y = 0; y < height; y++) f[y] = feature[y * width + x] ? 0 : double.PositiveInfinity;
            LowerEnvelope(f, height, sy2, d, v, z);
            for (var y = 0; y < height; y++) result[y * width + x] = d[y];
        }

        // Pass 2, along each row (x), over the column distances.
        var sx2 = spacing.X * spacing.X;
        for (var y = 0; y < height; y++)
        {
            var row = result.AsSpan(y * width, width);
            row.CopyTo(f);
            LowerEnvelope(f, width, sx2, d, v, z);
            d.AsSpan(0, width).CopyTo(row);
        }
        return result;
    }

    /// <summary>
    /// The 3D twin of <see cref="Squared"/>: squared distance in mm² from every voxel of a depth × height × width volume
    /// (index (z · height + y) · width + x) to the nearest <paramref name="feature"/> voxel, with spacing
    /// (<paramref name="spacingZ"/>, <paramref name="spacingY"/>, <paramref name="spacingX"/>) in mm; the same separable
    /// lower envelope run along z, then y, then x. +∞ everywhere when there is no feature voxel.
    /// </summary>
    public static double[] Squared3D(ReadOnlySpan<bool> feature, int depth, int height, int width, double spacingZ, double spacingY, double spacingX)
    {
        if (depth < 0 || height < 0 || width < 0 || (long)depth * height * width != feature.Length)
            throw new ArgumentException($"A {depth}×{height}×{width} volume needs {(long)depth * height * width} voxels, got {feature.Length}.");
        var result = new double[feature.Length];
        for (var i = 0; i < result.Length; i++) result[i] = feature[i] ? 0 : double.PositiveInfinity;
        var n = Math.Max(depth, Math.Max(height, width));
        var f = new double[n];
        var d = new double[n];
        var v = new int[n];
        var z = new double[n + 1];
        var plane = height * width;
        void Pass(int count, int stride, double s, int lines, Func<int, int> start)
        {
            var s2 = s * s;
            for (var line = 0; line < lines; line++)
            {
                var o = start(line);
                for (var i = 0; i < count; i++) f[i] = result[o + i * stride];
                LowerEnvelope(f, count, s2, d, v, z);
                for (var i = 0; i < count; i++) result[o + i * stride] = d[i];
            }
        }
        Pass(depth, plane, spacingZ, plane, line => line);
        Pass(height, width, spacingY, depth * width, line => line / width * plane + line % width);
        Pass(width, 1, spacingX, depth * height, line => line * width);
        return result;
    }

    /// <summary>Distances (not squared) in mm; see <see cref="Squared"/>.</summary>
    public static double[] Distances(ReadOnlySpan<bool> feature, int height, int width, PixelSpacing spacing)
    {
        var d = Squared(feature, height, width, spacing);
        for (var i = 0; i < d.Length; i++) d[i] = Math.Sqrt(d[i]);
        return d;
    }

    /// <summary>
    /// d[p] = min_q (s²·(p − q)² + f[q]) for p in [0, n): the lower envelope of the parabolas rooted at the finite samples of f.
    /// Infinite samples are left out of the envelope (they can never be the minimum), which keeps the intersection arithmetic finite.
    /// </summary>
    private static void LowerEnvelope(double[] f, int n, double s2, double[] d, int[] v, double[] z)
    {
        var k = -1;
        for (var q = 0; q < n; q++)
        {
            if (double.IsPositiveInfinity(f[q])) continue;
            if (k < 0)
            {
                k = 0;
                v[0] = q;
                z[0] = double.NegativeInfinity;
                z[1] = double.PositiveInfinity;
                continue;
            }
            double s;
            while (true)
            {
                var r = v[k];
                // Abscissa where the parabola from q starts to lie below the one from r (z[0] = −∞ stops this at k = 0).
                s = (f[q] + s2 * q * q - (f[r] + s2 * r * r)) / (2 * s2 * (q - r));
                if (s > z[k]) break;
                k--;
            }
            k++;
            v[k] = q;
            z[k] = s;
            z[k + 1] = double.PositiveInfinity;
        }
        if (k < 0)
        {
            Array.Fill(d, double.PositiveInfinity, 0, n);
            return;
        }
        k = 0;
        for (var p = 0; p < n; p++)
        {
            while (z[k + 1] < p) k++;
            var delta = p - v[k];
            d[p] = s2 * delta * delta + f[v[k]];
        }
    }
}
