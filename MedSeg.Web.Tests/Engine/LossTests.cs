using MedSeg.Engine.Losses;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

public sealed class LossTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double Bce(double x, double t, double posWeight = 1) =>
        -(posWeight * t * Math.Log(Sigmoid(x)) + (1 - t) * Math.Log(1 - Sigmoid(x)));

    private static double LogSoftmax(double[] logits, int k) => logits[k] - Math.Log(logits.Sum(Math.Exp));

    private static double Value(nn.Module<Tensor, Tensor, Tensor> loss, Tensor logits, Tensor target)
    {
        using var v = loss.call(logits, target);
        return v.item<float>();
    }

    /// <summary>Confident one-hot logits (±20) of labels, N×C×H×W.</summary>
    private static Tensor Confident(Tensor labels, int classes) =>
        nn.functional.one_hot(labels, classes).movedim([-1L], [1L]).to_type(ScalarType.Float32) * 40 - 20;

    [Fact]
    public void DiceLossIsNearZeroForPerfectAndNearOneForDisjointMulticlassPredictions()
    {
        using var labels = tensor(new long[] { 0, 1, 2, 2 }).reshape(1, 2, 2);
        using var disjointLabels = tensor(new long[] { 1, 2, 0, 0 }).reshape(1, 2, 2);
        using var perfect = Confident(labels, 3);
        using var disjoint = Confident(disjointLabels, 3);
        using var dice = new DiceLoss(LossMode.Multiclass, smooth: 1e-6);
        Assert.InRange(Value(dice, perfect, labels), 0, 1e-5);
        Assert.InRange(Value(dice, disjoint, labels), 1 - 1e-5, 1);
        // The original binary loss still takes any shape, as long as logits and target agree: (2·2 + 1) / (2 + 4 + 1) = 5/7 at p = ½.
        using (var binary = new DiceLoss())
        using (var flatLogits = zeros(4))
        using (var flatTarget = ones(4))
            Assert.Equal(1 - 5.0 / 7, Value(binary, flatLogits, flatTarget), 6);
        using var multilabel = new DiceLoss(LossMode.Multilabel, smooth: 1e-6);
        using var oneHot = nn.functional.one_hot(labels, 3).movedim([-1L], [1L]).to_type(ScalarType.Float32);
        Assert.InRange(Value(multilabel, perfect, oneHot), 0, 1e-5);
    }

    [Fact]
    public void DiceLossCanSkipBackgroundAndClassesEmptyInTheBatch()
    {
        // Truth: classes 0 and 1 only. Prediction: class 0 right, one class-1 pixel predicted as class 2.
        using var truth = tensor(new long[] { 0, 0, 1, 1 }).reshape(1, 2, 2);
        using var predicted = tensor(new long[] { 0, 0, 1, 2 }).reshape(1, 2, 2);
        using var logits = Confident(predicted, 3);
        // Hard Dice per class: background 1, class 1: 2·1/(1+2) = 2/3, class 2 (empty truth, one false pixel): 0.
        double[] loss = [0, 1.0 / 3, 1];
        using var all = new DiceLoss(LossMode.Multiclass, smooth: 1e-6);
        using var noBackground = new DiceLoss(LossMode.Multiclass, smooth: 1e-6, includeBackground: false);
        using var presentOnly = new DiceLoss(LossMode.Multiclass, smooth: 1e-6, ignoreEmptyClasses: true);
        using var both = new DiceLoss(LossMode.Multiclass, smooth: 1e-6, includeBackground: false, ignoreEmptyClasses: true);
        Assert.Equal(loss.Average(), Value(all, logits, truth), 4);
        Assert.Equal((loss[1] + loss[2]) / 2, Value(noBackground, logits, truth), 4);
        Assert.Equal((loss[0] + loss[1]) / 2, Value(presentOnly, logits, truth), 4);
        Assert.Equal(loss[1], Value(both, logits, truth), 4);
    }

    [Fact]
    public void BinaryCrossEntropyMatchesClosedFormWithPosWeightAndIgnoreIndex()
    {
        double[] x = [0, 2, -1, 3];
        double[] t = [1, 0, 1, 1];
        using var logits = tensor(x.Select(v => (float)v).ToArray()).reshape(1, 1, 2, 2);
        using var target = tensor(t.Select(v => (float)v).ToArray()).reshape(1, 1, 2, 2);
        using var plain = new BinaryCrossEntropyLoss();
        Assert.Equal(x.Zip(t).Average(p => Bce(p.First, p.Second)), Value(plain, logits, target), 5);
        using var weighted = new BinaryCrossEntropyLoss(LossMode.Binary, posWeight: 3.0);
        Assert.Equal(x.Zip(t).Average(p => Bce(p.First, p.Second, 3)), Value(weighted, logits, target), 5);

        using var partly = tensor(new float[] { 1, 0, -1, 1 }).reshape(1, 1, 2, 2);
        using var ignoring = new BinaryCrossEntropyLoss(LossMode.Binary, ignoreIndex: -1);
        Assert.Equal((Bce(0, 1) + Bce(2, 0) + Bce(3, 1)) / 3, Value(ignoring, logits, partly), 5);
        // Multilabel, one positive weight per channel: the same four pixels as two channels of two, weights 2 and 5.
        using var twoChannels = logits.reshape(1, 2, 1, 2);
        using var twoTargets = target.reshape(1, 2, 1, 2);
        using var perChannel = new BinaryCrossEntropyLoss(LossMode.Multilabel, [2.0, 5.0]);
        double[] channelWeight = [2, 2, 5, 5];
        Assert.Equal(Enumerable.Range(0, 4).Average(i => Bce(x[i], t[i], channelWeight[i])), Value(perChannel, twoChannels, twoTargets), 5);
        // N×H×W targets are accepted for N×1×H×W logits in Binary mode.
        using var flat = target.squeeze(1);
        Assert.Equal(Value(plain, logits, target), Value(plain, logits, flat), 6);
    }

    [Fact]
    public void CrossEntropyMatchesClosedFormWithClassWeightsAndIgnoreIndex()
    {
        // Three pixels, three classes; labels 2, 0, 1.
        double[][] pixels = [[1, 0, 2], [0.5, -1, 0], [3, 1, -2]];
        long[] labels = [2, 0, 1];
        using var logits = tensor(pixels.SelectMany(p => p).Select(v => (float)v).ToArray()).reshape(1, 1, 3, 3).permute(0, 3, 1, 2).contiguous();
        using var target = tensor(labels).reshape(1, 1, 3);
        var nll = pixels.Select((p, i) => -LogSoftmax(p, (int)labels[i])).ToArray();
        using var ce = new CrossEntropyLoss();
        Assert.Equal(nll.Average(), Value(ce, logits, target), 5);

        double[] w = [0.2, 1, 3];
        using var weighted = new CrossEntropyLoss(w);
        var expected = nll.Select((l, i) => w[labels[i]] * l).Sum() / labels.Sum(k => w[k]);
        Assert.Equal(expected, Value(weighted, logits, target), 5);

        using var partly = tensor(new long[] { 2, 255, 1 }).reshape(1, 1, 3);
        using var ignoring = new CrossEntropyLoss(ignoreIndex: 255);
        Assert.Equal((nll[0] + nll[2]) / 2, Value(ignoring, logits, partly), 5);
        using var outOfRange = tensor(new long[] { 2, 3, 1 }).reshape(1, 1, 3);
        Assert.Throws<ArgumentException>(() => ce.call(logits, outOfRange));
        using var floats = target.to_type(ScalarType.Float32);
        Assert.Throws<ArgumentException>(() => ce.call(logits, floats));
    }

    [Fact]
    public void FocalWithGammaZeroEqualsCrossEntropy()
    {
        using var g = manual_seed(7);
        using var logits = randn(2, 4, 3, 3);
        using var labels = randint(0, 4, [2, 3, 3]);
        double[] w = [0.5, 1, 2, 4];
        using var focal = new FocalLoss(LossMode.Multiclass, gamma: 0);
        using var ce = new CrossEntropyLoss();
        Assert.Equal(Value(ce, logits, labels), Value(focal, logits, labels), 5);
        using var weightedFocal = new FocalLoss(LossMode.Multiclass, gamma: 0, classWeights: w);
        using var weightedCe = new CrossEntropyLoss(w);
        Assert.Equal(Value(weightedCe, logits, labels), Value(weightedFocal, logits, labels), 5);

        using var binaryLogits = randn(2, 1, 3, 3);
        using var binaryTarget = randint(0, 2, [2, 1, 3, 3]).to_type(ScalarType.Float32);
        using var binaryFocal = new FocalLoss(LossMode.Binary, gamma: 0);
        using var bce = new BinaryCrossEntropyLoss();
        Assert.Equal(Value(bce, binaryLogits, binaryTarget), Value(binaryFocal, binaryLogits, binaryTarget), 5);
    }

    [Fact]
    public void FocalDownWeightsByHandComputedFactors()
    {
        // One pixel, logit 0, target 1: p_t = 1/2, CE = ln 2, (1 − p_t)² = 1/4; α = 0.25 on the positive.
        using var logits = zeros(1, 1, 1, 1);
        using var target = ones(1, 1, 1, 1);
        using var focal = new FocalLoss(LossMode.Binary, gamma: 2);
        Assert.Equal(0.25 * Math.Log(2), Value(focal, logits, target), 6);
        using var alpha = new FocalLoss(LossMode.Binary, gamma: 2, alpha: 0.25);
        Assert.Equal(0.25 * 0.25 * Math.Log(2), Value(alpha, logits, target), 6);
        using var negative = zeros(1, 1, 1, 1);
        Assert.Equal(0.75 * 0.25 * Math.Log(2), Value(alpha, logits, negative), 6);
        // Multiclass, two classes with logits (0, 0), label 1: p_t = 1/2, loss = (1/2)²·ln 2.
        using var two = zeros(1, 2, 1, 1);
        using var label = ones(1, 1, 1, ScalarType.Int64);
        using var multiclass = new FocalLoss(LossMode.Multiclass, gamma: 2);
        Assert.Equal(0.25 * Math.Log(2), Value(multiclass, two, label), 6);
    }

    [Fact]
    public void TverskyWithEqualHalfWeightsEqualsDice()
    {
        using var g = manual_seed(11);
        using var logits = randn(2, 3, 4, 4);
        using var labels = randint(0, 3, [2, 4, 4]);
        using var dice = new DiceLoss(LossMode.Multiclass, smooth: 1.0);
        using var tversky = new TverskyLoss(LossMode.Multiclass, alpha: 0.5, beta: 0.5, smooth: 0.5);
        Assert.Equal(Value(dice, logits, labels), Value(tversky, logits, labels), 5);

        using var binaryLogits = randn(2, 1, 4, 4);
        using var binaryTarget = randint(0, 2, [2, 1, 4, 4]).to_type(ScalarType.Float32);
        using var binaryDice = new DiceLoss(smooth: 1e-6);
        using var binaryTversky = new TverskyLoss(LossMode.Binary, 0.5, 0.5, smooth: 0.5e-6);
        Assert.Equal(Value(binaryDice, binaryLogits, binaryTarget), Value(binaryTversky, binaryLogits, binaryTarget), 5);
    }

    [Fact]
    public void TverskyWeighsFalsePositivesByAlphaAndFalseNegativesByBeta()
    {
        // Hard binary prediction: TP 1, FP 1, FN 2. TI = 1 / (1 + 0.3·1 + 0.7·2) = 1/2.7; focal γ = 2 squares 1 − TI.
        using var target = tensor(new float[] { 1, 0, 1, 1 }).reshape(1, 1, 2, 2);
        using var prediction = tensor(new float[] { 1, 1, 0, 0 }).reshape(1, 1, 2, 2);
        using var logits = prediction * 60 - 30;
        using var tversky = new TverskyLoss(LossMode.Binary, 0.3, 0.7, smooth: 0);
        Assert.Equal(1 - 1 / 2.7, Value(tversky, logits, target), 5);
        using var focalTversky = new TverskyLoss(LossMode.Binary, 0.3, 0.7, gamma: 2, smooth: 0);
        Assert.Equal(Math.Pow(1 - 1 / 2.7, 2), Value(focalTversky, logits, target), 5);
    }

    [Fact]
    public void CompoundLossIsTheWeightedSumOfItsTerms()
    {
        using var g = manual_seed(3);
        using var logits = randn(2, 3, 4, 4);
        using var labels = randint(0, 3, [2, 4, 4]);
        using var dice = new DiceLoss(LossMode.Multiclass);
        using var ce = new CrossEntropyLoss();
        var expected = 0.5 * Value(dice, logits, labels) + 2 * Value(ce, logits, labels);
        using var compound = new CompoundLoss((new DiceLoss(LossMode.Multiclass), 0.5), (new CrossEntropyLoss(), 2.0));
        Assert.Equal(expected, Value(compound, logits, labels), 5);
        Assert.Equal(2, compound.Terms.Count);
        Assert.Equal(2, compound.named_children().Count());
    }

    [Fact]
    public void DeepSupervisionUsesNnUNetWeightsAndNearestDownsampledTargets()
    {
        Assert.Equal([1.0], DeepSupervisionLoss.NnUNetWeights(1));
        Assert.Equal([2.0 / 3, 1.0 / 3, 0], DeepSupervisionLoss.NnUNetWeights(3));
        Assert.Equal([1 / 1.75, 0.5 / 1.75, 0.25 / 1.75, 0], DeepSupervisionLoss.NnUNetWeights(4));
        Assert.Equal([0.25, 0.25, 0.25, 0.25], DeepSupervisionLoss.EqualWeights(4));

        using var g = manual_seed(5);
        using var labels = randint(0, 3, [2, 8, 8]);
        using var full = randn(2, 3, 8, 8);
        using var half = randn(2, 3, 4, 4);
        using var quarter = randn(2, 3, 2, 2);
        using var ce = new CrossEntropyLoss();
        // Nearest downsampling by 2 keeps the even rows and columns.
        using var halfLabels = labels[TensorIndex.Colon, TensorIndex.Slice(0, null, 2), TensorIndex.Slice(0, null, 2)];
        using var resized = DeepSupervisionLoss.Resize(labels, half);
        Assert.Equal(ScalarType.Int64, resized.dtype);
        Assert.True(resized.eq(halfLabels).all().item<bool>());
        var expected = 2.0 / 3 * Value(ce, full, labels) + 1.0 / 3 * Value(ce, half, halfLabels);
        using var deep = new DeepSupervisionLoss(new CrossEntropyLoss());
        using var value = deep.call([full, half, quarter], labels);
        Assert.Equal(expected, value.item<float>(), 5);

        // UNet++: several outputs at the target's size, equal weights; Binary float targets are resized the same way.
        using var mask = randint(0, 2, [2, 1, 8, 8]).to_type(ScalarType.Float32);
        using var a = randn(2, 1, 8, 8);
        using var b = randn(2, 1, 8, 8);
        using var bce = new BinaryCrossEntropyLoss();
        using var unetpp = new DeepSupervisionLoss(new BinaryCrossEntropyLoss(), DeepSupervisionLoss.EqualWeights(2));
        using var both = unetpp.call([a, b], mask);
        Assert.Equal((Value(bce, a, mask) + Value(bce, b, mask)) / 2, both.item<float>(), 5);
        Assert.Throws<ArgumentException>(() => unetpp.call([a], mask));
    }

    [Fact]
    public void LossFactoryBuildsNamedLossesAndListsValidNames()
    {
        using (var diceCe = LossFactory.Create("dice+ce", LossMode.Multiclass, 3))
        {
            var compound = Assert.IsType<CompoundLoss>(diceCe);
            Assert.IsType<DiceLoss>(compound.Terms[0].Loss);
            Assert.IsType<CrossEntropyLoss>(compound.Terms[1].Loss);
        }
        using (var bceDice = LossFactory.Create("bce+dice", LossMode.Binary, 1))
            Assert.Equal([typeof(BinaryCrossEntropyLoss), typeof(DiceLoss)], ((CompoundLoss)bceDice).Terms.Select(t => t.Loss.GetType()));
        using (var tversky = LossFactory.Create(" Tversky:0.3,0.7 ", LossMode.Binary, 1))
            Assert.Equal((0.3, 0.7, 1.0), (((TverskyLoss)tversky).Alpha, ((TverskyLoss)tversky).Beta, ((TverskyLoss)tversky).Gamma));
        using (var focal = LossFactory.Create("focal", LossMode.Multiclass, 4))
            Assert.Equal(2.0, ((FocalLoss)focal).Gamma);
        using (var weighted = LossFactory.Create("0.5*dice+ce", LossMode.Binary, 1))
            Assert.Equal([0.5, 1.0], ((CompoundLoss)weighted).Terms.Select(t => t.Weight));

        var unknown = Assert.Throws<ArgumentException>(() => LossFactory.Create("dise+ce", LossMode.Multiclass, 3));
        Assert.All(LossFactory.Names, name => Assert.Contains(name, unknown.Message));
        Assert.Contains("\"dise\"", unknown.Message);
        Assert.Equal(["bce", "ce", "dice", "focal", "tversky"], LossFactory.Names);
        Assert.Throws<ArgumentException>(() => LossFactory.Create("bce", LossMode.Multiclass, 3));
        Assert.Throws<ArgumentException>(() => LossFactory.Create("tversky:0.3", LossMode.Binary, 1));
        Assert.Throws<ArgumentException>(() => LossFactory.Create("focal:x", LossMode.Binary, 1));
        Assert.Throws<ArgumentException>(() => LossFactory.Create("dice++ce", LossMode.Binary, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => LossFactory.Create("dice", LossMode.Binary, 2));
    }

    [Fact]
    public void LossesAndMetricUpdatesLeaveNoTensorAlive()
    {
        using var g = manual_seed(2);
        using var logits = randn([2, 3, 8, 8], requires_grad: true);
        using var half = randn([2, 3, 4, 4], requires_grad: true);
        using var labels = randint(0, 3, [2, 8, 8]);
        nn.Module<Tensor, Tensor, Tensor>[] losses =
        [
            new DiceLoss(LossMode.Multiclass, includeBackground: false, ignoreEmptyClasses: true, ignoreIndex: 2), new CrossEntropyLoss([1, 2, 3]),
            new FocalLoss(LossMode.Multiclass, classWeights: [1, 2, 3]), new TverskyLoss(LossMode.Multiclass, gamma: 0.75),
        ];
        using var binary = new CompoundLoss((new BinaryCrossEntropyLoss(LossMode.Multilabel, [1.0, 2, 3], ignoreIndex: -1), 1), (new FocalLoss(LossMode.Multilabel, alpha: 0.25), 1));
        using var multilabel = labels.unsqueeze(1).eq(arange(3).reshape(1, 3, 1, 1)).to_type(ScalarType.Float32);
        using var deep = new DeepSupervisionLoss(LossFactory.Create("dice+ce", LossMode.Multiclass, 3), DeepSupervisionLoss.EqualWeights(2));
        var accumulator = new MedSeg.Engine.Metrics.MetricAccumulator(new() { NumClasses = 3 });
        void Step() // no outer dispose scope: anything a loss forgets to dispose stays alive
        {
            foreach (var loss in losses)
                using (var value = loss.call(logits, labels)) value.backward();
            using (var value = binary.call(logits, multilabel)) value.backward();
            using (var value = deep.call([logits, half], labels)) value.backward();
            using (var predicted = logits.argmax(1)) accumulator.Update(predicted, labels);
        }
        Step(); // warm-up
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Step();
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        foreach (var loss in losses) loss.Dispose();
    }

    [Theory]
    [InlineData("dice+ce", LossMode.Multiclass)]
    [InlineData("focal", LossMode.Multiclass)]
    [InlineData("tversky:0.3,0.7,0.75", LossMode.Multiclass)]
    [InlineData("bce+dice", LossMode.Binary)]
    [InlineData("focal:2,0.25+tversky", LossMode.Binary)]
    [InlineData("ce+dice", LossMode.Multilabel)]
    public void GradientsFlowThroughEveryLoss(string spec, LossMode mode)
    {
        using var g = manual_seed(1);
        var classes = mode == LossMode.Binary ? 1 : 3;
        using var logits = randn([2, classes, 4, 4], requires_grad: true);
        using var target = mode == LossMode.Multiclass
            ? randint(0, classes, [2, 4, 4])
            : randint(0, 2, [2, classes, 4, 4]).to_type(ScalarType.Float32);
        using var loss = LossFactory.Create(spec, mode, classes);
        using var value = loss.call(logits, target);
        Assert.True(double.IsFinite(value.item<float>()));
        value.backward();
        Assert.NotNull(logits.grad);
        Assert.True(logits.grad!.isfinite().all().item<bool>());
        Assert.True(logits.grad!.abs().sum().item<float>() > 0);
    }
}
