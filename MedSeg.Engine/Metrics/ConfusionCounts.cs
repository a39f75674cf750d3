using static TorchSharp.torch;

namespace MedSeg.Engine.Metrics;

/// <summary>Pixel confusion counts of one binary prediction against its ground truth (foreground = positive).</summary>
public readonly record struct ConfusionCounts(long Tp, long Fp, long Fn, long Tn)
{
    public long Total => Tp + Fp + Fn + Tn;
    public long TruthPositives => Tp + Fn;
    public long PredictedPositives => Tp + Fp;

    /// <summary>Which of truth and prediction have no foreground: the case of the empty policy (<see cref="EmptyReason"/>).</summary>
    public EmptyReason Emptiness => (PredictedPositives == 0, TruthPositives == 0) switch
    {
        (true, true) => EmptyReason.BothEmpty,
        (false, true) => EmptyReason.TruthEmpty,
        (true, false) => EmptyReason.PredictionEmpty,
        _ => EmptyReason.None,
    };

    public static ConfusionCounts operator +(ConfusionCounts a, ConfusionCounts b) =>
        new(a.Tp + b.Tp, a.Fp + b.Fp, a.Fn + b.Fn, a.Tn + b.Tn);

    /// <summary>Counts from two equally long masks where any non-zero byte is foreground.</summary>
    public static ConfusionCounts From(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth)
    {
        if (prediction.Length != truth.Length)
            throw new ArgumentException($"Prediction has {prediction.Length} pixels but the truth has {truth.Length}.");
        long tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < prediction.Length; i++)
        {
            var p = prediction[i] != 0;
            var t = truth[i] != 0;
            if (p && t) tp++;
            else if (p) fp++;
            else if (t) fn++;
        }
        return new ConfusionCounts(tp, fp, fn, prediction.Length - tp - fp - fn);
    }

    /// <summary>Counts of one class <paramref name="label"/> from two equally long label maps (a pixel is positive where it equals the label).</summary>
    public static ConfusionCounts FromLabels(ReadOnlySpan<byte> prediction, ReadOnlySpan<byte> truth, byte label)
    {
        if (prediction.Length != truth.Length)
            throw new ArgumentException($"Prediction has {prediction.Length} pixels but the truth has {truth.Length}.");
        long tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < prediction.Length; i++)
        {
            var p = prediction[i] == label;
            var t = truth[i] == label;
            if (p && t) tp++;
            else if (p) fp++;
            else if (t) fn++;
        }
        return new ConfusionCounts(tp, fp, fn, prediction.Length - tp - fp - fn);
    }

    /// <summary>Counts from tensors of the same shape (bool or 0/1 numbers; non-zero = foreground). Never tracked by autograd.</summary>
    public static ConfusionCounts From(Tensor prediction, Tensor truth)
    {
        if (!prediction.shape.SequenceEqual(truth.shape))
            throw new ArgumentException("Prediction and truth tensors must have the same shape.");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var p = prediction.detach().ne(Scalars.Zero);
        var t = truth.detach().ne(Scalars.Zero);
        var tp = p.logical_and(t).sum().item<long>();
        var fp = p.logical_and(t.logical_not()).sum().item<long>();
        var fn = p.logical_not().logical_and(t).sum().item<long>();
        return new ConfusionCounts(tp, fp, fn, prediction.numel() - tp - fp - fn);
    }
}
