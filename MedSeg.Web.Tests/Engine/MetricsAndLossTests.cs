using MedSeg.Engine.Losses;
using MedSeg.Engine.Metrics;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

public sealed class MetricsAndLossTests
{
    private static ConfusionCounts Counts(string prediction, string truth) =>
        ConfusionCounts.From(prediction.Select(c => (byte)(c - '0')).ToArray(), truth.Select(c => (byte)(c - '0')).ToArray());

    [Fact]
    public void MetricsArePerfectForIdenticalMasks()
    {
        var c = Counts("0110", "0110");
        Assert.Equal(new ConfusionCounts(2, 0, 0, 2), c);
        Assert.Equal(1.0, SegmentationMetrics.Dice(c));
        Assert.Equal(1.0, SegmentationMetrics.IoU(c));
        Assert.Equal(1.0, SegmentationMetrics.Precision(c));
        Assert.Equal(1.0, SegmentationMetrics.Recall(c));
    }

    [Fact]
    public void MetricsAreZeroForDisjointMasks()
    {
        var c = Counts("1100", "0011");
        Assert.Equal(new ConfusionCounts(0, 2, 2, 0), c);
        Assert.Equal(0.0, SegmentationMetrics.Dice(c));
        Assert.Equal(0.0, SegmentationMetrics.IoU(c));
        Assert.Equal(0.0, SegmentationMetrics.Precision(c));
        Assert.Equal(0.0, SegmentationMetrics.Recall(c));
    }

    [Fact]
    public void MetricsMatchHandComputedValuesForOnePixelOverlap()
    {
        // prediction 2 pixels, truth 3 pixels, 1 shared: Dice = 2/5, IoU = 1/4, precision = 1/2, recall = 1/3.
        var c = Counts("110000", "100110");
        Assert.Equal(new ConfusionCounts(1, 1, 2, 2), c);
        Assert.Equal(0.4, SegmentationMetrics.Dice(c), 12);
        Assert.Equal(0.25, SegmentationMetrics.IoU(c), 12);
        Assert.Equal(0.5, SegmentationMetrics.Precision(c), 12);
        Assert.Equal(1.0 / 3, SegmentationMetrics.Recall(c), 12);
    }

    [Fact]
    public void MetricsArePerfectWhenTruthAndPredictionAreBothEmpty()
    {
        var c = Counts("0000", "0000");
        Assert.Equal(1.0, SegmentationMetrics.Dice(c));
        Assert.Equal(1.0, SegmentationMetrics.IoU(c));
        Assert.Equal(1.0, SegmentationMetrics.Precision(c));
        Assert.Equal(1.0, SegmentationMetrics.Recall(c));
    }

    [Fact]
    public void MetricsAreZeroWhenTruthIsEmptyButSomethingIsPredicted()
    {
        var c = Counts("0100", "0000");
        Assert.Equal(0.0, SegmentationMetrics.Dice(c));
        Assert.Equal(0.0, SegmentationMetrics.IoU(c));
        Assert.Equal(0.0, SegmentationMetrics.Precision(c));
    }

    [Fact]
    public void MetricsAreZeroWhenPredictionIsEmptyButTruthIsNot()
    {
        var c = Counts("0000", "0110");
        Assert.Equal(0.0, SegmentationMetrics.Dice(c));
        Assert.Equal(0.0, SegmentationMetrics.IoU(c));
        Assert.Equal(0.0, SegmentationMetrics.Recall(c));
    }

    [Fact]
    public void ConfusionCountsFromTensorsMatchBytesAndStayOutOfAutograd()
    {
        using var p = tensor(new float[] { 1, 1, 0, 0, 0, 0 }, requires_grad: true);
        using var t = tensor(new float[] { 1, 0, 0, 1, 1, 0 });
        Assert.Equal(Counts("110000", "100110"), ConfusionCounts.From(p, t));
        Assert.Null(p.grad);
    }

    [Fact]
    public void DiceLossIsNearZeroForConfidentCorrectLogitsAndNearOneForWrongOnes()
    {
        using var target = tensor(new float[] { 1, 1, 0, 0 }).reshape(1, 1, 2, 2);
        using var right = (target * 40 - 20);
        using var wrong = (20 - target * 40);
        using var loss = new DiceLoss(smooth: 1e-6);
        Assert.InRange(loss.call(right, target).item<float>(), 0f, 1e-5f);
        Assert.InRange(loss.call(wrong, target).item<float>(), 1f - 1e-5f, 1f);
    }

    [Fact]
    public void BceDiceLossOfZeroLogitsMatchesHandComputedValue()
    {
        // p = 0.5 everywhere, 4 foreground pixels of 4: BCE = ln 2; Dice = (2·2 + 1) / (2 + 4 + 1) = 5/7.
        using var target = ones(1, 1, 2, 2);
        using var logits = zeros(1, 1, 2, 2, requires_grad: true);
        using var loss = new BceDiceLoss();
        using var value = loss.call(logits, target);
        Assert.Equal(Math.Log(2) + 1 - 5.0 / 7, value.item<float>(), 5);
        value.backward();
        Assert.NotNull(logits.grad);
    }
}
