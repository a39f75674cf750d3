namespace MedSeg.Engine.Data.Pipeline;

/// <summary>
/// Applies <see cref="AugmentationOptions"/> to one prepared case: a (C, S, S) float image and an (S, S) mask of labels
/// (0/1, or 0 … K − 1 for a label map) in, augmented copies out. All spatial transforms are composed into one inverse map
/// and sampled once (image bilinear, mask nearest, so every mask value is one of the input's labels); pure flips and 90° rotations copy pixels exactly. Every random number comes
/// from the <see cref="Random"/> passed in (use <see cref="PipelineRandom.For"/>), drawn in a fixed order.
/// Not thread-safe (it keeps scratch buffers): one instance per worker thread. No per-pixel allocations.
/// </summary>
public sealed class Augmenter
{
    private readonly AugmentationOptions options;
    private float[] scratch = [];
    private float[] kernel = [];
    private readonly double[] elasticX;
    private readonly double[] elasticY;

    public Augmenter(AugmentationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
        elasticX = new double[options.ElasticGrid * options.ElasticGrid];
        elasticY = new double[options.ElasticGrid * options.ElasticGrid];
    }

    public AugmentationOptions Options => options;

    public void Apply(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int channels, int size, Random random,
        Span<float> outImage, Span<float> outMask)
    {
        var plane = size * size;
        if (image.Length != channels * plane || mask.Length != plane || outImage.Length != channels * plane || outMask.Length != plane)
            throw new ArgumentException("image/mask spans do not match channels × size × size.");
        var o = options;

        // Spatial decisions (fixed order).
        var flipX = random.NextDouble() < o.FlipXProbability;
        var flipY = random.NextDouble() < o.FlipYProbability;
        var quarter = random.NextDouble() < o.Rotate90Probability ? random.Next(1, 4) : 0;
        var scaled = random.NextDouble() < o.ScaleProbability;
        var scale = scaled ? Uniform(random, o.ScaleMin, o.ScaleMax) : 1.0;
        var rotated = random.NextDouble() < o.RotationProbability;
        var angle = rotated ? Uniform(random, -o.RotationDegrees, o.RotationDegrees) * Math.PI / 180 : 0.0;
        var elastic = random.NextDouble() < o.ElasticProbability;
        if (elastic)
            for (var g = 0; g < elasticX.Length; g++)
            {
                elasticX[g] = Gaussian(random) * o.ElasticAlpha;
                elasticY[g] = Gaussian(random) * o.ElasticAlpha;
            }

        // Inverse map output → source (about the centre): flips · quarter turns · rotation · 1/scale.
        var (cos, sin) = (Math.Cos(angle) / scale, Math.Sin(angle) / scale);
        double m00 = cos, m01 = -sin, m10 = sin, m11 = cos;
        for (var q = 0; q < quarter; q++) (m00, m01, m10, m11) = (m10, m11, -m00, -m01); // (u, v) → (v, −u) applied after
        if (flipX) (m00, m01) = (-m00, -m01);
        if (flipY) (m10, m11) = (-m10, -m11);
        var resample = scaled || rotated || elastic;
        Warp(image, mask, channels, size, outImage, outMask, m00, m01, m10, m11, resample, elastic);

        // Intensity decisions and transforms (image only).
        if (random.NextDouble() < o.NoiseProbability)
        {
            var std = (float)Math.Sqrt(Uniform(random, 0, o.NoiseVarianceMax));
            for (var i = 0; i < outImage.Length; i += 2)
            {
                var (a, b) = GaussianPair(random.NextDouble(), random.NextDouble());
                outImage[i] += std * a;
                if (i + 1 < outImage.Length) outImage[i + 1] += std * b;
            }
        }
        if (random.NextDouble() < o.BlurProbability) Blur(outImage, channels, size, Uniform(random, o.BlurSigmaMin, o.BlurSigmaMax));
        if (random.NextDouble() < o.BrightnessProbability)
        {
            var f = (float)Uniform(random, o.BrightnessMin, o.BrightnessMax);
            for (var i = 0; i < outImage.Length; i++) outImage[i] *= f;
        }
        if (random.NextDouble() < o.ContrastProbability)
        {
            var f = (float)Uniform(random, o.ContrastMin, o.ContrastMax);
            for (var c = 0; c < channels; c++)
            {
                var p = outImage.Slice(c * plane, plane);
                var (min, max, mean) = Stats(p);
                for (var i = 0; i < p.Length; i++) p[i] = Math.Clamp((p[i] - mean) * f + mean, min, max);
            }
        }
        if (random.NextDouble() < o.GammaProbability)
        {
            var gamma = Uniform(random, o.GammaMin, o.GammaMax);
            for (var c = 0; c < channels; c++)
            {
                var p = outImage.Slice(c * plane, plane);
                var (min, max, _) = Stats(p);
                var range = max - min;
                if (!(range > 1e-7f)) continue;
                var g = (float)gamma;
                for (var i = 0; i < p.Length; i++) p[i] = MathF.Pow((p[i] - min) / range, g) * range + min;
            }
        }
    }

    private void Warp(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int channels, int size, Span<float> outImage,
        Span<float> outMask, double m00, double m01, double m10, double m11, bool resample, bool elastic)
    {
        var plane = size * size;
        var centre = (size - 1) / 2.0;
        if (!resample)
        {
            Permute(image, mask, channels, size, outImage, outMask, (int)m00, (int)m01, (int)m10, (int)m11);
            return;
        }
        var edge = options.Border == BorderMode.Edge;
        var grid = options.ElasticGrid;
        var toGrid = size > 1 ? (grid - 1) / (double)(size - 1) : 0;
        for (var y = 0; y < size; y++)
        {
            var v = y - centre;
            for (var x = 0; x < size; x++)
            {
                var u = x - centre;
                var sx = centre + m00 * u + m01 * v;
                var sy = centre + m10 * u + m11 * v;
                var dst = y * size + x;
                if (elastic)
                {
                    var (gx, gy) = (x * toGrid, y * toGrid);
                    var (g0x, g0y) = (Math.Min((int)gx, grid - 2), Math.Min((int)gy, grid - 2));
                    var (fx, fy) = (gx - g0x, gy - g0y);
                    var i00 = g0y * grid + g0x;
                    sx += Lerp2(elasticX, i00, grid, fx, fy);
                    sy += Lerp2(elasticY, i00, grid, fx, fy);
                }
                // Mask: nearest (the label value itself; outside the image is background).
                var nx = (int)Math.Floor(sx + 0.5);
                var ny = (int)Math.Floor(sy + 0.5);
                if (edge) (nx, ny) = (Math.Clamp(nx, 0, size - 1), Math.Clamp(ny, 0, size - 1));
                outMask[dst] = nx >= 0 && ny >= 0 && nx < size && ny < size ? mask[ny * size + nx] : 0f;
                // Image: bilinear.
                var x0 = (int)Math.Floor(sx);
                var y0 = (int)Math.Floor(sy);
                var (wx, wy) = ((float)(sx - x0), (float)(sy - y0));
                if (x0 >= 0 && y0 >= 0 && x0 < size - 1 && y0 < size - 1)
                {
                    var i00 = y0 * size + x0;
                    for (var c = 0; c < channels; c++)
                    {
                        var p = image.Slice(c * plane, plane);
                        var top = p[i00] * (1 - wx) + p[i00 + 1] * wx;
                        var bottom = p[i00 + size] * (1 - wx) + p[i00 + size + 1] * wx;
                        outImage[c * plane + dst] = top * (1 - wy) + bottom * wy;
                    }
                    continue;
                }
                for (var c = 0; c < channels; c++)
                {
                    var p = image.Slice(c * plane, plane);
                    var top = Sample(p, size, x0, y0, edge) * (1 - wx) + Sample(p, size, x0 + 1, y0, edge) * wx;
                    var bottom = Sample(p, size, x0, y0 + 1, edge) * (1 - wx) + Sample(p, size, x0 + 1, y0 + 1, edge) * wx;
                    outImage[c * plane + dst] = top * (1 - wy) + bottom * wy;
                }
            }
        }
    }

    /// <summary>Flips and quarter turns: an exact pixel permutation. The map (u, v) → M·(u, v) about the centre has
    /// integer entries, so source x = x0 + m00·x + m01·y (and likewise y) with integer x0, y0.</summary>
    private static void Permute(ReadOnlySpan<float> image, ReadOnlySpan<byte> mask, int channels, int size, Span<float> outImage,
        Span<float> outMask, int m00, int m01, int m10, int m11)
    {
        var plane = size * size;
        if (m00 == 1 && m01 == 0 && m10 == 0 && m11 == 1)
        {
            image.CopyTo(outImage);
            for (var i = 0; i < plane; i++) outMask[i] = mask[i];
            return;
        }
        var last = size - 1;
        // centre·(1 − m00 − m01) with centre = last/2: integer because the entries are 0/±1 with one non-zero per row.
        var x0 = (last - (m00 + m01) * last) / 2;
        var y0 = (last - (m10 + m11) * last) / 2;
        for (var y = 0; y < size; y++)
        {
            var sx = x0 + m01 * y;
            var sy = y0 + m11 * y;
            var row = y * size;
            for (var x = 0; x < size; x++, sx += m00, sy += m10)
            {
                var src = sy * size + sx;
                outMask[row + x] = mask[src];
                for (var c = 0; c < channels; c++) outImage[c * plane + row + x] = image[c * plane + src];
            }
        }
    }

    private static float Sample(ReadOnlySpan<float> p, int size, int x, int y, bool edge)
    {
        if (edge) return p[Math.Clamp(y, 0, size - 1) * size + Math.Clamp(x, 0, size - 1)];
        return x >= 0 && y >= 0 && x < size && y < size ? p[y * size + x] : 0f;
    }

    private static double Lerp2(double[] g, int i00, int grid, double fx, double fy) =>
        (g[i00] * (1 - fx) + g[i00 + 1] * fx) * (1 - fy) + (g[i00 + grid] * (1 - fx) + g[i00 + grid + 1] * fx) * fy;

    /// <summary>Separable Gaussian blur per channel, edges clamped.</summary>
    private void Blur(Span<float> image, int channels, int size, double sigma)
    {
        var radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        if (kernel.Length != 2 * radius + 1) kernel = new float[2 * radius + 1];
        double sum = 0;
        for (var j = -radius; j <= radius; j++) sum += kernel[j + radius] = (float)Math.Exp(-j * j / (2 * sigma * sigma));
        for (var j = 0; j < kernel.Length; j++) kernel[j] /= (float)sum;
        var plane = size * size;
        if (scratch.Length < plane) scratch = new float[plane];
        var k = kernel.AsSpan();
        var t = scratch.AsSpan(0, plane);
        for (var c = 0; c < channels; c++)
        {
            var p = image.Slice(c * plane, plane);
            for (var y = 0; y < size; y++)
            {
                var row = p.Slice(y * size, size);
                for (var x = 0; x < size; x++)
                {
                    float acc = 0;
                    if (x >= radius && x < size - radius)
                    {
                        var window = row.Slice(x - radius, k.Length);
                        for (var j = 0; j < k.Length; j++) acc += k[j] * window[j];
                    }
                    else
                        for (var j = -radius; j <= radius; j++) acc += k[j + radius] * row[Math.Clamp(x + j, 0, size - 1)];
                    t[y * size + x] = acc;
                }
            }
            p.Clear();
            for (var y = 0; y < size; y++)
            {
                var dst = p.Slice(y * size, size);
                for (var j = -radius; j <= radius; j++)
                {
                    var src = t.Slice(Math.Clamp(y + j, 0, size - 1) * size, size);
                    var w = k[j + radius];
                    for (var x = 0; x < size; x++) dst[x] += w * src[x]; // row-wise: contiguous, vectorizable
                }
            }
        }
    }

    private static (float Min, float Max, float Mean) Stats(Span<float> p)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        double sum = 0;
        foreach (var v in p)
        {
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
        }
        return (min, max, (float)(sum / p.Length));
    }

    private static double Uniform(Random r, double min, double max) => min + (max - min) * r.NextDouble();

    /// <summary>
    /// Two independent standard normal values by Box–Muller from two uniforms in [0, 1) (as <see cref="Random.NextDouble"/>
    /// gives them). The radius is computed in double (<see cref="BoxMullerRadius"/>), so it is always finite: in single
    /// precision, a draw within 2⁻²⁵ of 1 rounds to 1f, log(0) is −∞ and the pixel became NaN (once every few epochs with
    /// noise on).
    /// </summary>
    public static (float A, float B) GaussianPair(double u1, double u2)
    {
        var r = BoxMullerRadius(u1);
        var (sin, cos) = Math.SinCos(2 * Math.PI * u2);
        return ((float)(r * cos), (float)(r * sin));
    }

    /// <summary>Standard normal by Box–Muller (one value per call; deterministic for the Random's state).</summary>
    private static double Gaussian(Random r)
    {
        var radius = BoxMullerRadius(r.NextDouble());
        return radius * Math.Cos(2 * Math.PI * r.NextDouble());
    }

    /// <summary>√(−2 ln(1 − u)) for u ∈ [0, 1): finite, since 1 − u ∈ (0, 1] in double.</summary>
    private static double BoxMullerRadius(double u) => Math.Sqrt(-2.0 * Math.Log(1.0 - u));
}
