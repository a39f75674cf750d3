using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Soft TP/FP/FN per channel over the whole batch (sums over N, H, W, as segmentation_models_pytorch) and the averaging
/// over channels shared by <see cref="DiceLoss"/> and <see cref="TverskyLoss"/>.
/// </summary>
internal static class SoftOverlapReduction
{
    public static (Tensor Tp, Tensor Fp, Tensor Fn) Counts(Tensor logits, Tensor target, LossMode mode, long? ignoreIndex)
    {
        var (p, t, valid) = LossInputs.Soft(logits, target, mode, ignoreIndex);
        if (mode == LossMode.Binary) (p, t, valid) = (p.reshape(1, 1, -1), t.reshape(1, 1, -1), valid.reshape(1, 1, -1)); // any shape, one channel
        p = p * valid;
        var tp = LossInputs.SumPerChannel(p * t);
        var fp = LossInputs.SumPerChannel(p) - tp;
        var fn = LossInputs.SumPerChannel(t) - tp;
        return (tp, fp, fn);
    }

    /// <summary>
    /// Mean of the per-channel losses, leaving out channel 0 when <paramref name="includeBackground"/> is false (Multiclass and
    /// Multilabel; Binary has a single channel and ignores the switch) and channels without truth pixels in the batch when
    /// <paramref name="ignoreEmptyClasses"/>. With nothing left the loss is 0 (still attached to the graph).
    /// </summary>
    public static Tensor Mean(Tensor perChannel, Tensor truthPerChannel, LossMode mode, bool includeBackground, bool ignoreEmptyClasses)
    {
        var keep = ones_like(perChannel);
        if (!includeBackground && mode != LossMode.Binary && perChannel.shape[0] > 1) keep[0].fill_(Scalars.Zero);
        if (ignoreEmptyClasses) keep = keep * truthPerChannel.gt(Scalars.Zero).to_type(perChannel.dtype);
        return (perChannel * keep).sum() / keep.sum().clamp_min(Scalars.One);
    }
}
