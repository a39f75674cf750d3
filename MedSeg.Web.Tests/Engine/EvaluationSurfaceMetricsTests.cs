using MedSeg.Engine.Inference;
using MedSeg.Engine.Metrics;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The evaluation's per-case scores (<see cref="Predictor.Score"/>, what <see cref="Predictor.Evaluate"/> stores) are
/// the <see cref="MetricAccumulator"/>'s values of the same pair: HD95 and ASSD in pixels and in mm, FP/FN, per class.</summary>
public sealed class EvaluationSurfaceMetricsTests
{
    private const int H = 24, W = 32;

    private static byte[] Rectangle(int top, int left, int height, int width, byte value = 1, byte[]? into = null)
    {
        var mask = into ?? new byte[H * W];
        for (var y = top; y < top + height; y++)
            for (var x = left; x < left + width; x++)
                mask[y * W + x] = value;
        return mask;
    }

    private static MetricValue Last(MetricAccumulator a, int k, SegmentationMetric m) => a.Values(k, m)[^1];

    [Fact]
    public void BinaryScoreEqualsTheAccumulatorsInPixelsAndInMillimetres()
    {
        var truth = Rectangle(4, 4, 10, 12);
        var predicted = Rectangle(6, 9, 10, 12); // shifted 2 down, 5 right
        var spacing = new PixelSpacing(0.5, 2.0); // anisotropic: mm is not a multiple of px

        var score = Predictor.Score("a", "a.png", predicted, truth, H, W, spacing: spacing);

        var px = new MetricAccumulator();
        px.Update(predicted, truth, H, W);
        var mm = new MetricAccumulator(new MetricAccumulatorOptions { Spacing = spacing });
        mm.Update(predicted, truth, H, W);
        Assert.Equal(Last(px, 1, SegmentationMetric.Hd95).Value, score.Hd95!.Value, 12);
        Assert.Equal(Last(px, 1, SegmentationMetric.Assd).Value, score.Assd!.Value, 12);
        Assert.Equal(Last(mm, 1, SegmentationMetric.Hd95).Value, score.Hd95Mm!.Value, 12);
        Assert.Equal(Last(mm, 1, SegmentationMetric.Assd).Value, score.AssdMm!.Value, 12);
        Assert.Equal(Last(px, 1, SegmentationMetric.Dice).Value, score.Dice, 12);
        Assert.NotEqual(score.Hd95, score.Hd95Mm);
        // By hand: the overlap is 8 × 7 = 56 of 120 pixels each, so FP = FN = 64 and Dice = 112 / 240.
        Assert.Equal((64L, 64L), (score.Fp, score.Fn));
        Assert.Equal(112.0 / 240, score.Dice, 12);
        var row = Assert.Single(score.Classes);
        Assert.Equal((1, score.Hd95, score.AssdMm, false), (row.Class, row.Hd95, row.AssdMm, row.TruthEmpty));
        Assert.Null(score.ClassDice);

        // Without spacing there is no mm; the MONAI convention pools the two directed sets differently.
        var noSpacing = Predictor.Score("a", "a.png", predicted, truth, H, W);
        Assert.Equal((score.Hd95, (double?)null, (double?)null), (noSpacing.Hd95, noSpacing.Hd95Mm, noSpacing.AssdMm));
        var monai = Predictor.Score("a", "a.png", predicted, truth, H, W, convention: SurfaceDistanceConvention.Monai);
        var monaiAcc = new MetricAccumulator(new MetricAccumulatorOptions { Convention = SurfaceDistanceConvention.Monai });
        monaiAcc.Update(predicted, truth, H, W);
        Assert.Equal(Last(monaiAcc, 1, SegmentationMetric.Hd95).Value, monai.Hd95!.Value, 12);
    }

    [Fact]
    public void EmptyMasksFollowThePolicyNullWhereUndefined()
    {
        var empty = new byte[H * W];
        var blob = Rectangle(2, 2, 5, 5);

        var falseAlarm = Predictor.Score("fa", "fa.png", blob, empty, H, W, spacing: PixelSpacing.Isotropic(0.7));
        Assert.Equal((0.0, (double?)null, (double?)null, (double?)null, 25L, 0L, true),
            (falseAlarm.Dice, falseAlarm.Hd95, falseAlarm.Assd, falseAlarm.Hd95Mm, falseAlarm.Fp, falseAlarm.Fn, falseAlarm.TruthEmpty));
        var miss = Predictor.Score("m", "m.png", empty, blob, H, W);
        Assert.Equal((0.0, (double?)null, 0L, 25L, false), (miss.Dice, miss.Hd95, miss.Fp, miss.Fn, miss.TruthEmpty));
        var none = Predictor.Score("n", "n.png", empty, empty, H, W, spacing: PixelSpacing.Isotropic(0.7));
        Assert.Equal((1.0, (double?)0, (double?)0, (double?)0, true), (none.Dice, none.Hd95, none.Assd, none.Hd95Mm, none.TruthEmpty));
    }

    [Fact]
    public void LabelMapScoresEachClassAsTheAccumulatorAndAveragesTheDefinedDistances()
    {
        var truth = Rectangle(2, 2, 8, 8, 1);
        Rectangle(12, 16, 6, 10, 2, truth);
        var predicted = Rectangle(3, 3, 8, 8, 1);
        Rectangle(12, 14, 6, 10, 2, predicted);
        Rectangle(0, 28, 3, 3, 3, predicted); // class 3: a false alarm, truth empty → HD95 undefined
        var spacing = PixelSpacing.Isotropic(0.25);

        var score = Predictor.Score("lm", "lm.png", predicted, truth, H, W, numClasses: 4, spacing: spacing);

        var px = new MetricAccumulator(new MetricAccumulatorOptions { NumClasses = 4 });
        px.Update(predicted, truth, H, W);
        var mm = new MetricAccumulator(new MetricAccumulatorOptions { NumClasses = 4, Spacing = spacing });
        mm.Update(predicted, truth, H, W);
        Assert.Equal([1, 2, 3], score.Classes.Select(c => c.Class));
        foreach (var row in score.Classes)
        {
            Assert.Equal(Last(px, row.Class, SegmentationMetric.Dice).Value, row.Dice, 12);
            var hd = Last(px, row.Class, SegmentationMetric.Hd95);
            Assert.Equal(hd.IsDefined ? hd.Value : null, row.Hd95);
            var hdMm = Last(mm, row.Class, SegmentationMetric.Hd95);
            Assert.Equal(hdMm.IsDefined ? hdMm.Value : null, row.Hd95Mm);
            var assdMm = Last(mm, row.Class, SegmentationMetric.Assd);
            Assert.Equal(assdMm.IsDefined ? assdMm.Value : null, row.AssdMm);
        }
        Assert.Null(score.Classes[2].Hd95);
        Assert.True(score.Classes[2].TruthEmpty);
        Assert.Equal((score.Classes[0].Hd95!.Value + score.Classes[1].Hd95!.Value) / 2, score.Hd95!.Value, 12);
        Assert.Equal(score.Classes.Average(c => c.Dice), score.Dice, 12);
        Assert.Equal(score.Classes.Sum(c => c.Fp), score.Fp);
        Assert.Equal(score.Classes.Select(c => c.Dice), score.ClassDice!);
        Assert.False(score.TruthEmpty);
    }
}
