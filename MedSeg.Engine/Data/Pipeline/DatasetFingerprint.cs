using MedSeg.Engine.Training;

namespace MedSeg.Engine.Data.Pipeline;

public sealed record SizeStatistics(int Min, int Median, int Max);

/// <summary>Intensity statistics of one channel in stored sample values (Hounsfield units for rescaled CT). Mean/std and
/// min/max are exact (all pixels of the measured cases); the 0.5/99.5 percentiles come from a bounded random sample (linear
/// interpolation, as numpy). Foreground values are NaN when no measured case has foreground.</summary>
public sealed record ChannelStatistics(int Channel, double Mean, double Std, double Percentile005, double Percentile995,
    double ForegroundMean, double ForegroundStd, double ForegroundPercentile005, double ForegroundPercentile995,
    double Min = double.NaN, double Max = double.NaN, double ForegroundMin = double.NaN, double ForegroundMax = double.NaN);

/// <summary>What <see cref="DatasetFingerprint.Suggest"/> proposes for a training plan.</summary>
public sealed record PipelineSuggestion(int ImageSize, int BatchSize, ResizePolicy Resize, IntensityNormalization Normalization, string Reason);

/// <summary>
/// nnU-Net-style dataset fingerprint: sizes, channels, per-channel intensity statistics over all pixels and over
/// foreground, and class balance. Computed from the original decoded images (no resize), channels converted as
/// <see cref="Preprocessing.Prepare(Raster, int, int)"/> does for the model's channel count.
/// </summary>
public sealed record DatasetFingerprint(
    int Cases,
    SizeStatistics Width,
    SizeStatistics Height,
    int Channels,
    bool SixteenBitOrMore,
    IReadOnlyList<ChannelStatistics> Intensity,
    double ForegroundFractionMean,
    double ForegroundFractionMin,
    double ForegroundFractionMax,
    long SampledPixels)
{
    /// <summary>Share of all measured pixels per mask label (index = label: 0 background, 1 … K − 1); sums to 1.</summary>
    public IReadOnlyList<double> LabelPixelShare { get; init; } = [];

    /// <summary>Measured cases whose mask has no foreground.</summary>
    public int EmptyMasks { get; init; }

    /// <summary>Resize is <see cref="ResizePolicy.Letterbox"/> when the median aspect ratio is beyond this (4:3).</summary>
    public const double LetterboxAspect = 4.0 / 3;

    /// <summary>Bytes of training memory per input pixel and sample assumed by <see cref="Suggest"/> (fp32 activations,
    /// gradients and optimizer slack of a small U-Net at batch 1; a heuristic, not a measurement).</summary>
    public const long TrainingBytesPerPixel = 2048;

    /// <summary>
    /// Decodes every case (in parallel, bounded by the processor count) and computes the fingerprint. At most
    /// <paramref name="sampleLimit"/> pixels (spread evenly over the cases) are kept for the percentiles of all pixels,
    /// and as many again for the foreground; sampling positions come from <c>PipelineRandom.For(0, 0, case)</c>.
    /// <paramref name="channels"/>: the model's input channels (null = the largest band count found).
    /// </summary>
    public static DatasetFingerprint Compute(IReadOnlyList<TrainingCase> cases, int sampleLimit = 200_000, int? channels = null,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(cases);
        if (cases.Count == 0) throw new ArgumentException("The fingerprint needs at least one case.");
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleLimit, 1);
        var n = cases.Count;
        var perCase = Math.Max(1, sampleLimit / n);
        var results = new CaseResult[n];
        Parallel.For(0, n, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var c = cases[i];
            try
            {
                results[i] = Measure(ImageDecoder.DecodeFile(c.ImagePath), MaskReader.ReadLabels(c.MaskPath), channels, perCase, i);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                throw new TrainingFailedException($"Case '{c.Name}' cannot be read: {e.Message}", e);
            }
        });

        var ch = channels ?? results.Max(r => r.Channels);
        if (results.Any(r => r.Channels != ch))
        {
            // Channel counts differ (grey and colour mixed): measure again with a common channel count.
            results = cases.Select((c, i) => Measure(ImageDecoder.DecodeFile(c.ImagePath), MaskReader.ReadLabels(c.MaskPath), ch, perCase, i)).ToArray();
        }
        var intensity = new List<ChannelStatistics>();
        for (var k = 0; k < ch; k++)
        {
            double sum = 0, sq = 0, fgSum = 0, fgSq = 0;
            long count = 0, fgCount = 0;
            var all = new List<float>();
            var fg = new List<float>();
            foreach (var r in results)
            {
                sum += r.Sum[k]; sq += r.SumSquares[k]; count += r.Pixels;
                fgSum += r.ForegroundSum[k]; fgSq += r.ForegroundSumSquares[k]; fgCount += r.ForegroundPixels;
                all.AddRange(r.Samples[k]);
                fg.AddRange(r.ForegroundSamples[k]);
            }
            var (mean, std) = MeanStd(sum, sq, count);
            var (fgMean, fgStd) = fgCount > 0 ? MeanStd(fgSum, fgSq, fgCount) : (double.NaN, double.NaN);
            all.Sort();
            fg.Sort();
            intensity.Add(new ChannelStatistics(k, mean, std, Percentile(all, 0.5), Percentile(all, 99.5),
                fgMean, fgStd, Percentile(fg, 0.5), Percentile(fg, 99.5),
                results.Min(r => r.Min[k]), results.Max(r => r.Max[k]),
                fgCount > 0 ? results.Where(r => r.ForegroundPixels > 0).Min(r => r.ForegroundMin[k]) : double.NaN,
                fgCount > 0 ? results.Where(r => r.ForegroundPixels > 0).Max(r => r.ForegroundMax[k]) : double.NaN));
        }
        var fractions = results.Select(r => r.Pixels == 0 ? 0 : (double)r.ForegroundPixels / r.Pixels).ToArray();
        var labelPixels = new long[MaskReader.MaxLabel + 1];
        foreach (var r in results)
            for (var l = 0; l < labelPixels.Length; l++) labelPixels[l] += r.LabelPixels[l];
        var largest = Array.FindLastIndex(labelPixels, c => c > 0);
        var total = (double)Math.Max(1, labelPixels.Sum());
        return new DatasetFingerprint(n,
            Sizes(results.Select(r => r.Width)), Sizes(results.Select(r => r.Height)), ch, results.Any(r => r.Deep), intensity,
            fractions.Average(), fractions.Min(), fractions.Max(),
            results.Sum(r => (long)r.Samples[0].Length + r.ForegroundSamples[0].Length))
        {
            LabelPixelShare = [.. labelPixels.Take(Math.Max(2, largest + 1)).Select(c => c / total)],
            EmptyMasks = results.Count(r => r.ForegroundPixels == 0),
        };
    }

    /// <summary>
    /// Input size: the multiple of 32 among 2ⁿ and 1.5·2ⁿ (32, 64, 96, 128, 192, 256, 384, 512, …) nearest (in ratio) to
    /// √(median W · median H), capped at <paramref name="maxSize"/>. Batch size: what <paramref name="memoryBudgetBytes"/>
    /// allows at <see cref="TrainingBytesPerPixel"/>, within [2, 32] and at most half the cases. Resize: Letterbox when
    /// the median aspect ratio is beyond 4:3, else Stretch. Normalization: CT-like data (one channel, 16-bit or more) →
    /// CtWindow on the foreground 0.5/99.5 percentiles with foreground z-score (nnU-Net); otherwise per-image z-score.
    /// </summary>
    public PipelineSuggestion Suggest(long memoryBudgetBytes = 2L << 30, int maxSize = 512)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 32);
        var size = SuggestSize(Width.Median, Height.Median, maxSize);
        var perSample = TrainingBytesPerPixel * size * size;
        var batch = (int)Math.Clamp(memoryBudgetBytes / perSample, 2, 32);
        batch = Math.Max(1, Math.Min(batch, Math.Max(2, Cases / 2)));
        var aspect = (double)Math.Max(Width.Median, Height.Median) / Math.Max(1, Math.Min(Width.Median, Height.Median));
        var resize = aspect > LetterboxAspect ? ResizePolicy.Letterbox : ResizePolicy.Stretch;
        var ct = Channels == 1 && SixteenBitOrMore && Intensity[0].ForegroundStd > 0;
        var normalization = ct ? CtWindow() : IntensityNormalization.PerImageZScore;
        var reason = $"median {Width.Median}×{Height.Median} → {size} px; {batch} per batch for {memoryBudgetBytes >> 20} MiB at " +
                     $"{TrainingBytesPerPixel} B/pixel; aspect {aspect:F2} → {resize}; " +
                     (ct ? "one 16-bit channel → CT window + foreground z-score" : "per-image z-score (8-bit or colour data)");
        return new PipelineSuggestion(size, batch, resize, normalization, reason);
    }

    /// <summary>The input size for images of this median size: the multiple of 32 among 2ⁿ and 1.5·2ⁿ (32, 64, 96, 128, 192,
    /// 256, 384, 512, …) nearest in ratio to √(W · H), at most <paramref name="maxSize"/>. Small images are never shrunk:
    /// when the median's longer side is at most <see cref="SmallImageSide"/> px the size is at least that side (35 × 50 MRI
    /// slices → 64, not 32: structures a few pixels wide would vanish).</summary>
    public static int SuggestSize(double medianWidth, double medianHeight, int maxSize)
    {
        var target = Math.Sqrt(Math.Max(1, medianWidth) * Math.Max(1, medianHeight));
        var candidates = new List<int>();
        for (var p = 32; p <= 8192; p *= 2)
        {
            candidates.Add(p);
            if (p * 3 / 2 % 32 == 0) candidates.Add(p * 3 / 2);
        }
        var longer = Math.Max(medianWidth, medianHeight);
        var floor = longer <= SmallImageSide ? longer : 0;
        var allowed = candidates.Where(c => c <= maxSize).DefaultIfEmpty(32).ToList();
        var large = allowed.Where(c => c >= floor).ToList();
        return (large.Count > 0 ? large : allowed).MinBy(c => Math.Abs(Math.Log(c / target)));
    }

    /// <summary>Median longer sides up to this are small images (see <see cref="SuggestSize"/>).</summary>
    public const int SmallImageSide = 128;

    /// <summary>Dataset z-score with the per-channel mean/std over all pixels.</summary>
    public IntensityNormalization DatasetZScore() =>
        IntensityNormalization.DatasetZScore(Intensity.Select(c => c.Mean).ToArray(), Intensity.Select(c => c.Std).ToArray());

    /// <summary>nnU-Net CT normalization: clip to the foreground 0.5/99.5 percentiles, z-score with foreground mean/std.</summary>
    public IntensityNormalization CtWindow() => IntensityNormalization.WindowZScore(
        Intensity.Select(c => c.ForegroundPercentile005).ToArray(), Intensity.Select(c => Math.Max(c.ForegroundPercentile995, c.ForegroundPercentile005 + 1e-3)).ToArray(),
        Intensity.Select(c => c.ForegroundMean).ToArray(), Intensity.Select(c => c.ForegroundStd).ToArray());

    private sealed record CaseResult(int Width, int Height, int Channels, bool Deep, long Pixels, long ForegroundPixels,
        double[] Sum, double[] SumSquares, double[] ForegroundSum, double[] ForegroundSumSquares, float[][] Samples, float[][] ForegroundSamples,
        double[] Min, double[] Max, double[] ForegroundMin, double[] ForegroundMax, long[] LabelPixels);

    private static CaseResult Measure(Raster raster, BinaryMask mask, int? channels, int perCase, int index)
    {
        if (mask.Width != raster.Width || mask.Height != raster.Height)
            throw new InvalidDataException($"the mask is {mask.Width}×{mask.Height} but the image is {raster.Width}×{raster.Height}.");
        var bands = raster.Bands;
        var ch = channels ?? bands;
        if (bands != ch && bands != 1 && !(bands == 3 && ch == 1))
            throw new InvalidDataException($"the image has {bands} channel(s) but the model takes {ch}.");
        var n = raster.Width * raster.Height;
        var px = raster.Pixels;
        float Value(int pixel, int k) => bands == ch ? px[pixel * bands + k]
            : bands == 1 ? px[pixel]
            : px[pixel * 3] * 0.299f + px[pixel * 3 + 1] * 0.587f + px[pixel * 3 + 2] * 0.114f;
        double[] sum = new double[ch], sq = new double[ch], fgSum = new double[ch], fgSq = new double[ch];
        double[] min = [.. Enumerable.Repeat(double.PositiveInfinity, ch)], max = [.. Enumerable.Repeat(double.NegativeInfinity, ch)];
        double[] fgMin = [.. min], fgMax = [.. max];
        var labels = new long[MaskReader.MaxLabel + 1];
        long fgCount = 0;
        for (var i = 0; i < n; i++)
        {
            var label = mask.Pixels[i];
            labels[Math.Min((int)label, MaskReader.MaxLabel)]++;
            var fg = label != 0;
            if (fg) fgCount++;
            for (var k = 0; k < ch; k++)
            {
                double v = Value(i, k);
                sum[k] += v; sq[k] += v * v;
                if (v < min[k]) min[k] = v;
                if (v > max[k]) max[k] = v;
                if (fg)
                {
                    fgSum[k] += v; fgSq[k] += v * v;
                    if (v < fgMin[k]) fgMin[k] = v;
                    if (v > fgMax[k]) fgMax[k] = v;
                }
            }
        }
        var random = PipelineRandom.For(0, 0, index);
        var samples = new float[ch][];
        var fgSamples = new float[ch][];
        var positions = new int[Math.Min(perCase, n)];
        for (var s = 0; s < positions.Length; s++) positions[s] = random.Next(n);
        var fgPositions = new int[fgCount == 0 ? 0 : (int)Math.Min(perCase, fgCount)];
        if (fgPositions.Length > 0)
        {
            // The j-th foreground pixel for sorted random ranks j (one pass over the mask, no list of all foreground pixels).
            var ranks = new long[fgPositions.Length];
            for (var s = 0; s < ranks.Length; s++) ranks[s] = random.NextInt64(fgCount);
            Array.Sort(ranks);
            long seen = 0;
            var r = 0;
            for (var i = 0; i < n && r < ranks.Length; i++)
            {
                if (mask.Pixels[i] == 0) continue;
                while (r < ranks.Length && ranks[r] == seen) fgPositions[r++] = i;
                seen++;
            }
        }
        for (var k = 0; k < ch; k++)
        {
            samples[k] = positions.Select(p => Value(p, k)).ToArray();
            fgSamples[k] = fgPositions.Select(p => Value(p, k)).ToArray();
        }
        return new CaseResult(raster.Width, raster.Height, ch, raster.SixteenBitOrMore, n, fgCount, sum, sq, fgSum, fgSq, samples, fgSamples,
            min, max, fgMin, fgMax, labels);
    }

    private static (double Mean, double Std) MeanStd(double sum, double squares, long count)
    {
        var mean = sum / count;
        return (mean, Math.Sqrt(Math.Max(0, squares / count - mean * mean)));
    }

    /// <summary>Linear interpolation between closest ranks (numpy's default) of sorted values; NaN when empty.</summary>
    internal static double Percentile(List<float> sorted, double percent)
    {
        if (sorted.Count == 0) return double.NaN;
        var position = percent / 100 * (sorted.Count - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
    }

    private static SizeStatistics Sizes(IEnumerable<int> values)
    {
        var v = values.Order().ToArray();
        return new SizeStatistics(v[0], v[v.Length / 2], v[^1]);
    }
}
