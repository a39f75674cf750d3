using MedSeg.Engine.Metrics;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

public sealed class MetricAccumulatorTests
{
    private static readonly string[] Blob = ["....", ".##.", ".##.", "...."];
    private static readonly string[] Empty = ["....", "....", "....", "...."];

    private static void Add(MetricAccumulator acc, string[] prediction, string[] truth, PixelSpacing? spacing = null)
    {
        var (p, h, w) = AsciiMask.Parse(prediction);
        var (t, _, _) = AsciiMask.Parse(truth);
        acc.Update(p, t, h, w, spacing);
    }

    [Fact]
    public void SpecificityMatchesHandComputedValuesAndIsUndefinedWithoutNegatives()
    {
        // TN 2, FP 1: specificity 2/3. Truth all foreground: no negatives, undefined.
        Assert.Equal(2.0 / 3, SegmentationMetrics.Specificity(new ConfusionCounts(1, 1, 2, 2)), 12);
        var all = SegmentationMetrics.Evaluate(new ConfusionCounts(3, 0, 1, 0), SegmentationMetric.Specificity);
        Assert.Equal(MetricValue.Undefined(EmptyReason.NoTruthNegatives), all);
        Assert.True(double.IsNaN(SegmentationMetrics.Specificity(new ConfusionCounts(3, 0, 1, 0))));
    }

    [Fact]
    public void OverlapMetricsCarryTheEmptyRuleThatProducedThem()
    {
        var falseAlarm = new ConfusionCounts(0, 2, 0, 14);
        Assert.Equal(new MetricValue(0, EmptyReason.TruthEmpty), SegmentationMetrics.Evaluate(falseAlarm, SegmentationMetric.Dice));
        Assert.Equal(new MetricValue(0, EmptyReason.TruthEmpty), SegmentationMetrics.Evaluate(falseAlarm, SegmentationMetric.Recall));
        Assert.Equal(new MetricValue(14.0 / 16, EmptyReason.TruthEmpty), SegmentationMetrics.Evaluate(falseAlarm, SegmentationMetric.Specificity));
        var miss = new ConfusionCounts(0, 0, 3, 13);
        Assert.Equal(new MetricValue(0, EmptyReason.PredictionEmpty), SegmentationMetrics.Evaluate(miss, SegmentationMetric.Precision));
        Assert.Equal(new MetricValue(1, EmptyReason.PredictionEmpty), SegmentationMetrics.Evaluate(miss, SegmentationMetric.Specificity));
        var none = new ConfusionCounts(0, 0, 0, 16);
        Assert.All(new[] { SegmentationMetric.Dice, SegmentationMetric.IoU, SegmentationMetric.Precision, SegmentationMetric.Recall, SegmentationMetric.Specificity },
            m => Assert.Equal(new MetricValue(1, EmptyReason.BothEmpty), SegmentationMetrics.Evaluate(none, m)));
        Assert.Equal(MetricValue.Of(0.4), SegmentationMetrics.Evaluate(new ConfusionCounts(1, 1, 2, 2), SegmentationMetric.Dice));
        Assert.Throws<ArgumentException>(() => SegmentationMetrics.Evaluate(none, SegmentationMetric.Hd95));
    }

    [Fact]
    public void AccumulatorCountsEmptyCasesAndExcludesUndefinedDistances()
    {
        var acc = new MetricAccumulator();
        Add(acc, Blob, Blob);    // perfect: Dice 1, HD95 0
        Add(acc, Blob, Empty);   // false alarm: Dice 0, HD95 undefined (truth empty)
        Add(acc, Empty, Blob);   // miss: Dice 0, HD95 undefined (prediction empty)
        Add(acc, Empty, Empty);  // both empty: Dice 1, HD95 0
        var s = acc.Compute();
        Assert.Equal(4, s.Cases);
        Assert.Equal([1], s.Classes);

        var dice = s[SegmentationMetric.Dice];
        Assert.Equal((0.5, 0.5, 0.5, 4, 0), (dice.Mean, dice.Median, dice.Std, dice.Included, dice.Excluded));
        Assert.Equal(new Dictionary<EmptyReason, int> { [EmptyReason.TruthEmpty] = 1, [EmptyReason.PredictionEmpty] = 1, [EmptyReason.BothEmpty] = 1 },
            dice.IncludedByReason);

        var hd95 = s[SegmentationMetric.Hd95];
        Assert.Equal((0.0, 2, 2), (hd95.Mean, hd95.Included, hd95.Excluded));
        Assert.Equal(new Dictionary<EmptyReason, int> { [EmptyReason.TruthEmpty] = 1, [EmptyReason.PredictionEmpty] = 1 }, hd95.ExcludedByReason);
        Assert.Equal(new Dictionary<EmptyReason, int> { [EmptyReason.BothEmpty] = 1 }, hd95.IncludedByReason);
        Assert.Equal((dice.Mean, dice.Included), (s.PerClass[1][SegmentationMetric.Dice].Mean, s.PerClass[1][SegmentationMetric.Dice].Included));
        Assert.Equal([1.0, 0, 0, 1], acc.Values(1, SegmentationMetric.Dice).Select(v => v.Value));

        acc.Reset();
        var reset = acc.Compute();
        Assert.Equal(0, reset.Cases);
        Assert.True(double.IsNaN(reset[SegmentationMetric.Dice].Mean));
        Assert.Equal(0, reset[SegmentationMetric.Dice].Included);
    }

    [Fact]
    public void ExcludeBothEmptyLeavesNegativeCasesOutLikeNnUNet()
    {
        var acc = new MetricAccumulator(new MetricAccumulatorOptions { ExcludeBothEmpty = true });
        Add(acc, Blob, Blob);
        Add(acc, Blob, Empty);
        Add(acc, Empty, Empty);
        var dice = acc.Compute()[SegmentationMetric.Dice];
        Assert.Equal((0.5, 2, 1), (dice.Mean, dice.Included, dice.Excluded));
        Assert.Equal(1, dice.ExcludedByReason[EmptyReason.BothEmpty]);
    }

    [Fact]
    public void MulticlassScoresEachClassAndSkipsBackgroundUnlessIncluded()
    {
        // Labels 0/1/2 as digits. Class 1 perfect; class 2: truth 2 pixels, prediction 1 of them → Dice 2/3; background: truth 11 pixels, prediction 12 (all 11 shared).
        byte[] truth = "0000011001220000".Select(c => (byte)(c - '0')).ToArray();
        byte[] prediction = "0000011001200000".Select(c => (byte)(c - '0')).ToArray();
        var without = new MetricAccumulator(new MetricAccumulatorOptions { NumClasses = 3, SurfaceDistances = false });
        without.Update(prediction, truth, 4, 4);
        var s = without.Compute();
        Assert.Equal([1, 2], s.Classes);
        Assert.Equal(1.0, s.PerClass[1][SegmentationMetric.Dice].Mean, 12);
        Assert.Equal(2.0 / 3, s.PerClass[2][SegmentationMetric.Dice].Mean, 12);
        Assert.Equal((1 + 2.0 / 3) / 2, s[SegmentationMetric.Dice].Mean, 12);
        Assert.False(s.Overall.ContainsKey(SegmentationMetric.Hd95));

        var with = new MetricAccumulator(new MetricAccumulatorOptions { NumClasses = 3, IncludeBackground = true });
        with.Update(prediction, truth, 4, 4);
        var b = with.Compute();
        Assert.Equal([0, 1, 2], b.Classes);
        Assert.Equal(2.0 * 11 / (11 + 12), b.PerClass[0][SegmentationMetric.Dice].Mean, 12);
        Assert.Equal(3, b[SegmentationMetric.Dice].Included);
        Assert.Throws<ArgumentException>(() => with.Update(prediction, "0000011001230000".Select(c => (byte)(c - '0')).ToArray(), 4, 4));
    }

    [Fact]
    public void TensorBatchUpdateMatchesPerCaseUpdateAndStaysOutOfAutograd()
    {
        var (p, h, w) = AsciiMask.Parse("....", ".##.", ".###", "....");
        var (t, _, _) = AsciiMask.Parse("....", "###.", ".##.", "....");
        var spacing = new PixelSpacing(0.5, 2);
        var byCase = new MetricAccumulator();
        byCase.Update(p, t, h, w, spacing);
        byCase.Update(t, t, h, w, spacing);

        using var prediction = stack([tensor(p.Select(v => (float)v).ToArray()), tensor(t.Select(v => (float)v).ToArray())]).reshape(2, 1, h, w);
        prediction.requires_grad_(true);
        using var truth = stack([tensor(t.Select(v => (long)v).ToArray()), tensor(t.Select(v => (long)v).ToArray())]).reshape(2, 1, h, w);
        var byBatch = new MetricAccumulator(new MetricAccumulatorOptions { Spacing = spacing });
        byBatch.Update(prediction, truth);
        Assert.Null(prediction.grad);

        foreach (var m in byCase.Options.Metrics)
            Assert.Equal(byCase.Values(1, m), byBatch.Values(1, m));
        Assert.Equal(2, byBatch.Compute().Cases);
        using var probabilities = full(2, 1, h, w, 0.3f);
        Assert.Throws<ArgumentException>(() => byBatch.Update(probabilities, truth));
    }

    [Fact]
    public void PrecomputedCaseMetricsNeedSurfaceDistancesWhenTheAccumulatorReportsThem()
    {
        var counts = new ConfusionCounts(1, 0, 0, 3);
        Assert.Throws<ArgumentException>(() => new MetricAccumulator().Update(new CaseMetrics(counts)));
        var acc = new MetricAccumulator(new MetricAccumulatorOptions { SurfaceDistances = false });
        acc.Update(new CaseMetrics(counts));
        Assert.Equal(1.0, acc.Compute()[SegmentationMetric.Dice].Mean);
        Assert.Throws<InvalidOperationException>(() => new CaseMetrics(counts).Hd95);
    }
}
