using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Tversky loss (Salehi et al. 2017), optionally focal (Abraham &amp; Khan 2019): per channel over the whole batch,
/// TI_c = (TP + smooth) / (TP + α·FP + β·FN + smooth) with soft counts, loss = mean over channels of (1 − TI_c)^γ.
/// α weighs false positives, β false negatives (segmentation_models_pytorch's order): β &gt; α favours recall.
/// α = β = 0.5, γ = 1 is the soft Dice loss (with half the smoothing of <see cref="DiceLoss"/>). Channel selection as <see cref="DiceLoss"/>.
/// </summary>
public sealed class TverskyLoss : nn.Module<Tensor, Tensor, Tensor>
{
    public TverskyLoss(LossMode mode, double alpha = 0.3, double beta = 0.7, double gamma = 1.0, double smooth = 1.0,
        bool includeBackground = true, bool ignoreEmptyClasses = false, long? ignoreIndex = null) : base(nameof(TverskyLoss))
    {
        if (alpha < 0 || beta < 0 || alpha + beta <= 0)
            throw new ArgumentOutOfRangeException(nameof(alpha), $"Tversky α and β must be ≥ 0 and not both 0, got α {alpha}, β {beta}.");
        if (!(gamma > 0)) throw new ArgumentOutOfRangeException(nameof(gamma), $"Focal-Tversky γ must be > 0, got {gamma}.");
        if (smooth < 0) throw new ArgumentOutOfRangeException(nameof(smooth), "Smoothing must not be negative.");
        Mode = mode;
        Alpha = alpha;
        Beta = beta;
        Gamma = gamma;
        Smooth = smooth;
        IncludeBackground = includeBackground;
        IgnoreEmptyClasses = ignoreEmptyClasses;
        IgnoreIndex = ignoreIndex;
    }

    public LossMode Mode { get; }
    public double Alpha { get; }
    public double Beta { get; }
    public double Gamma { get; }
    public double Smooth { get; }
    public bool IncludeBackground { get; }
    public bool IgnoreEmptyClasses { get; }
    public long? IgnoreIndex { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (tp, fp, fn) = SoftOverlapReduction.Counts(logits, target, Mode, IgnoreIndex);
        using var smooth = Smooth.ToScalar();
        using var alpha = Alpha.ToScalar();
        using var beta = Beta.ToScalar();
        using var gamma = Gamma.ToScalar();
        using var floor = 1e-7.ToScalar();
        var tversky = tp.Plus(smooth) / tp.Plus(alpha * fp).Plus(beta * fn).Plus(smooth).clamp_min(floor);
        var perChannel = Scalars.OneDouble.Minus(tversky);
        if (Gamma != 1.0) perChannel = perChannel.clamp_min(Scalars.Zero).pow(gamma);
        var loss = SoftOverlapReduction.Mean(perChannel, tp.Plus(fn), Mode, IncludeBackground, IgnoreEmptyClasses);
        return loss.MoveToOuterDisposeScope();
    }
}
