using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Soft Dice loss on logits. Per channel c, over the whole batch (sums over N, H, W, as segmentation_models_pytorch):
/// dice_c = (2·Σ p·t + smooth) / (Σ p + Σ t + smooth), loss = mean over channels of 1 − dice_c. p = sigmoid(logits) in
/// Binary/Multilabel mode, softmax over C in Multiclass mode (target one-hot encoded).
/// <para><c>new DiceLoss(smooth)</c> is the original binary loss (one channel, whole batch pooled) and stays as it was.</para>
/// </summary>
public sealed class DiceLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Binary soft Dice: logits and 0/1 target of the same shape.</summary>
    public DiceLoss(double smooth = 1.0) : this(LossMode.Binary, smooth) { }

    /// <param name="mode">shape of logits and target, see <see cref="LossMode"/>.</param>
    /// <param name="smooth">added to numerator and denominator; keeps an empty class with an empty prediction at loss 0.</param>
    /// <param name="includeBackground">Multiclass/Multilabel: average channel 0 too (MONAI's include_background).</param>
    /// <param name="ignoreEmptyClasses">leave channels whose truth is empty in the whole batch out of the mean
    /// (segmentation_models_pytorch masks them); otherwise they still push their predictions towards 0 through the smoothing.</param>
    /// <param name="ignoreIndex">target value of pixels that do not count (e.g. 255 for "unlabelled").</param>
    public DiceLoss(LossMode mode, double smooth = 1.0, bool includeBackground = true, bool ignoreEmptyClasses = false, long? ignoreIndex = null)
        : base(nameof(DiceLoss))
    {
        if (smooth < 0) throw new ArgumentOutOfRangeException(nameof(smooth), "Smoothing must not be negative.");
        Mode = mode;
        Smooth = smooth;
        IncludeBackground = includeBackground;
        IgnoreEmptyClasses = ignoreEmptyClasses;
        IgnoreIndex = ignoreIndex;
    }

    public LossMode Mode { get; }
    public double Smooth { get; }
    public bool IncludeBackground { get; }
    public bool IgnoreEmptyClasses { get; }
    public long? IgnoreIndex { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (tp, fp, fn) = SoftOverlapReduction.Counts(logits, target, Mode, IgnoreIndex);
        using var smooth = Smooth.ToScalar();
        using var floor = 1e-7.ToScalar();
        var dice = (Scalars.TwoDouble * tp).Plus(smooth) / (Scalars.TwoDouble * tp).Plus(fp).Plus(fn).Plus(smooth).clamp_min(floor);
        var loss = SoftOverlapReduction.Mean(Scalars.OneDouble.Minus(dice), tp.Plus(fn), Mode, IncludeBackground, IgnoreEmptyClasses);
        return loss.MoveToOuterDisposeScope();
    }
}
