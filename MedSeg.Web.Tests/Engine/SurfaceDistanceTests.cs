using MedSeg.Engine.Metrics;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Masks drawn as text, '#' = foreground; shared by the metric tests.</summary>
internal static class AsciiMask
{
    public static (byte[] Pixels, int Height, int Width) Parse(params string[] rows)
    {
        var width = rows[0].Length;
        Assert.All(rows, r => Assert.Equal(width, r.Length));
        return (rows.SelectMany(r => r.Select(c => (byte)(c == '#' ? 1 : 0))).ToArray(), rows.Length, width);
    }

    public static byte[] Empty(int height, int width) => new byte[height * width];
}

public sealed class SurfaceDistanceTests
{
    private static readonly double Sqrt2 = Math.Sqrt(2);

    private static SurfaceDistances Distances(string[] prediction, string[] truth, PixelSpacing? spacing = null)
    {
        var (p, h, w) = AsciiMask.Parse(prediction);
        var (t, _, _) = AsciiMask.Parse(truth);
        return SurfaceDistances.Compute(p, t, h, w, spacing ?? PixelSpacing.Unit);
    }

    [Fact]
    public void EuclideanDistanceTransformMatchesBruteForceOnRandomMasks()
    {
        var random = new Random(1234);
        for (var trial = 0; trial < 60; trial++)
        {
            int h = random.Next(1, 14), w = random.Next(1, 14);
            var spacing = trial % 3 == 0 ? PixelSpacing.Unit : new PixelSpacing(0.2 + 3 * random.NextDouble(), 0.2 + 3 * random.NextDouble());
            var density = random.NextDouble() * 0.3;
            var feature = Enumerable.Range(0, h * w).Select(_ => random.NextDouble() < density).ToArray();
            var squared = EuclideanDistanceTransform.Squared(feature, h, w, spacing);
            for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
            {
                var best = double.PositiveInfinity;
                for (var fy = 0; fy < h; fy++)
                for (var fx = 0; fx < w; fx++)
                {
                    if (!feature[fy * w + fx]) continue;
                    double dy = (fy - y) * spacing.Y, dx = (fx - x) * spacing.X;
                    best = Math.Min(best, dy * dy + dx * dx);
                }
                if (double.IsPositiveInfinity(best)) Assert.True(double.IsPositiveInfinity(squared[y * w + x]));
                else Assert.Equal(best, squared[y * w + x], 9);
            }
        }
    }

    [Fact]
    public void SurfaceIsErosionXorIncludingTheImageBorder()
    {
        // A mask filling a 4×5 image: the border ring is surface (outside the image counts as background), the 2×3 inside is not.
        var (full, h, w) = AsciiMask.Parse("#####", "#####", "#####", "#####");
        var surface = SurfaceDistances.Surface(full, h, w);
        Assert.Equal(14, surface.Count(s => s));
        Assert.False(surface[1 * w + 1]);
        Assert.False(surface[2 * w + 3]);
        // A 3×3 square inside the image: the 8-pixel ring; a pixel is interior only if all four 4-neighbours are foreground.
        var (square, h2, w2) = AsciiMask.Parse(".....", ".###.", ".###.", ".###.", ".....");
        var ring = SurfaceDistances.Surface(square, h2, w2);
        Assert.Equal(8, ring.Count(s => s));
        Assert.False(ring[2 * w2 + 2]);
    }

    [Fact]
    public void IdenticalMasksHaveZeroDistances()
    {
        string[] blob = [".....", ".###.", "####.", ".##..", "....."];
        var d = Distances(blob, blob);
        Assert.Equal(EmptyReason.None, d.Emptiness);
        Assert.Equal(MetricValue.Of(0), d.Hd95());
        Assert.Equal(MetricValue.Of(0), d.Assd());
        Assert.Equal(MetricValue.Of(0), d.Hd95(SurfaceDistanceConvention.Monai));
    }

    [Fact]
    public void DisjointSinglePixelsAreTheirDistanceApart()
    {
        var d = Distances(["....#."], [".#...."]);
        Assert.Equal(3.0, d.Hd95().Value, 12);
        Assert.Equal(3.0, d.Assd().Value, 12);
        Assert.Equal(3.0, d.Hausdorff(100).Value, 12);
    }

    [Fact]
    public void OnePixelTruthInsideA3x3PredictionMatchesHandComputedValues()
    {
        // Prediction surface: the 8-pixel ring, 4 pixels at 1 and 4 corners at √2 from the truth pixel; truth → prediction: 1.
        string[] prediction = [".....", ".###.", ".###.", ".###.", "....."];
        string[] truth = [".....", ".....", "..#..", ".....", "....."];
        var d = Distances(prediction, truth);
        Assert.Equal(8, d.PredictionToTruth.Count);
        Assert.Equal([1.0], d.TruthToPrediction);
        // medpy: union {1 ×5, √2 ×4}; rank 0.95·8 = 7.6 lies between two √2 → √2. MONAI: max(√2, 1) = √2.
        Assert.Equal(Sqrt2, d.Hd95().Value, 12);
        Assert.Equal(Sqrt2, d.Hd95(SurfaceDistanceConvention.Monai).Value, 12);
        // medpy ASSD: mean of directed means = ((4 + 4√2) / 8 + 1) / 2; MONAI: pooled mean = (4 + 4√2 + 1) / 9.
        Assert.Equal(((4 + 4 * Sqrt2) / 8 + 1) / 2, d.Assd().Value, 12);
        Assert.Equal((5 + 4 * Sqrt2) / 9, d.Assd(SurfaceDistanceConvention.Monai).Value, 12);
    }

    [Fact]
    public void PercentileInterpolatesLinearlyLikeNumpy()
    {
        // numpy.percentile([0, 1, 2, 10], 95) = 2 + 0.85 · 8 = 8.8
        Assert.Equal(8.8, SurfaceDistances.Percentile([10, 0, 2, 1], 95), 12);
        Assert.Equal(10, SurfaceDistances.Percentile([10, 0, 2, 1], 100), 12);
        Assert.Equal(4, SurfaceDistances.Percentile([4], 95), 12);
    }

    [Fact]
    public void TwoPixelShiftAlongXScalesWithXSpacingOnly()
    {
        // Two full-height vertical lines two columns apart: every surface pixel is exactly 2·sx from the other line.
        string[] prediction = ["....#.", "....#.", "....#.", "....#."];
        string[] truth = ["..#...", "..#...", "..#...", "..#..."];
        foreach (var (spacing, expected) in new[] { (new PixelSpacing(1.0, 0.5), 1.0), (new PixelSpacing(1.0, 2.0), 4.0), (new PixelSpacing(3.0, 2.0), 4.0) })
        {
            var d = Distances(prediction, truth, spacing);
            Assert.Equal(expected, d.Hd95().Value, 12);
            Assert.Equal(expected, d.Assd().Value, 12);
            Assert.Equal(expected, d.Hd95(SurfaceDistanceConvention.Monai).Value, 12);
        }
        // The same shift along y is measured with sy.
        var vertical = Distances(["......", "......", "######", "......"], ["######", "......", "......", "......"], new PixelSpacing(0.5, 2.0));
        Assert.Equal(1.0, vertical.Hd95().Value, 12);
    }

    [Fact]
    public void EmptyMasksFollowThePolicy()
    {
        string[] blob = ["....", ".##.", "....", "...."];
        string[] empty = ["....", "....", "....", "...."];
        var both = Distances(empty, empty);
        Assert.Equal(new MetricValue(0, EmptyReason.BothEmpty), both.Hd95());
        Assert.Equal(new MetricValue(0, EmptyReason.BothEmpty), both.Assd());

        var truthEmpty = Distances(blob, empty);
        Assert.False(truthEmpty.Hd95().IsDefined);
        Assert.Equal(EmptyReason.TruthEmpty, truthEmpty.Hd95().Reason);
        Assert.Equal(EmptyReason.TruthEmpty, truthEmpty.Assd(SurfaceDistanceConvention.Monai).Reason);
        Assert.Empty(truthEmpty.PredictionToTruth);

        var predictionEmpty = Distances(empty, blob);
        Assert.True(double.IsNaN(predictionEmpty.Hd95().Value));
        Assert.Equal(EmptyReason.PredictionEmpty, predictionEmpty.Assd().Reason);
    }

    /// <summary>
    /// Expected values printed by scripts/metrics/reference_metrics.py (scipy.ndimage binary_erosion + distance_transform_edt
    /// with sampling, numpy.percentile), which holds the same masks. Regenerate:
    /// <c>apt-get install -y python3-scipy python3-numpy &amp;&amp; /usr/bin/python3 scripts/metrics/reference_metrics.py</c>
    /// </summary>
    [Theory]
    [InlineData("blobs", 1.0, 1.0, 0.5846153846153846, 3.605551275463989, 2.38415776431139, 2.867283332282081, 1.2236174147086858, 1.2398343449046558)]
    [InlineData("blobs", 0.7, 1.3, 0.5846153846153846, 3.087069808086626, 2.5023633552842703, 2.500680407097741, 1.0974991859648346, 1.1091901906135435)]
    [InlineData("border-and-hole", 2.0, 0.5, 0.7368421052631579, 4.0, 1.875, 2.0, 0.3730769230769231, 0.40217391304347827)]
    public void SurfaceDistanceMatchesScipyReference(string name, double sy, double sx, double dice, double hd,
        double hd95Medpy, double hd95Monai, double assdMedpy, double assdMonai)
    {
        var (prediction, truth) = ReferenceMasks[name];
        var (p, h, w) = AsciiMask.Parse(prediction);
        var (t, _, _) = AsciiMask.Parse(truth);
        var metrics = CaseMetrics.Compute(p, t, h, w, new PixelSpacing(sy, sx));
        var d = metrics.Surface!;
        Assert.Equal(dice, metrics.Dice.Value, 12);
        Assert.Equal(hd, d.Hausdorff(100).Value, 12);
        Assert.Equal(hd95Medpy, metrics.Hd95.Value, 12);
        Assert.Equal(hd95Monai, d.Hd95(SurfaceDistanceConvention.Monai).Value, 12);
        Assert.Equal(assdMedpy, metrics.Assd.Value, 12);
        Assert.Equal(assdMonai, d.Assd(SurfaceDistanceConvention.Monai).Value, 12);
    }

    private static readonly Dictionary<string, (string[] Prediction, string[] Truth)> ReferenceMasks = new()
    {
        ["blobs"] = (
        [
            "..............",
            "...####.......",
            "..######......",
            "..#######.....",
            "...######.....",
            "....###.......",
            "..............",
            ".........##...",
            "........####..",
            "..............",
        ],
        [
            "..............",
            "..............",
            "....#####.....",
            "...########...",
            "...########...",
            "....######....",
            ".....####.....",
            "......##......",
            "..............",
            "..............",
        ]),
        ["border-and-hole"] = (
        [
            "#####.......",
            "#####.......",
            "##.##...###.",
            "#####...###.",
            "........###.",
            "............",
            "...........#",
        ],
        [
            "######......",
            "######......",
            "######......",
            "######....##",
            "..........##",
            "............",
            "............",
        ]),
    };
}
