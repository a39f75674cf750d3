using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Focal loss (Lin et al. 2017): −α_t·(1 − p_t)^γ·log p_t, which down-weights pixels that are already right.
/// <list type="bullet">
/// <item>Binary/Multilabel: sigmoid per element, mean over elements; <c>alpha</c> weighs positives and 1 − alpha negatives
/// (torchvision's <c>sigmoid_focal_loss</c>; RetinaNet uses 0.25), null = no weighting. γ = 0 without alpha is
/// <see cref="BinaryCrossEntropyLoss"/>.</item>
/// <item>Multiclass: softmax; <c>classWeights</c> play α's part per class and the mean is Σ w[t]·fl / Σ w[t] as in
/// <see cref="CrossEntropyLoss"/>, so γ = 0 is exactly cross-entropy with the same weights.</item>
/// </list>
/// </summary>
public sealed class FocalLoss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly double[]? classWeights;

    public FocalLoss(LossMode mode, double gamma = 2.0, double? alpha = null, IReadOnlyList<double>? classWeights = null, long? ignoreIndex = null)
        : base(nameof(FocalLoss))
    {
        if (!(gamma >= 0)) throw new ArgumentOutOfRangeException(nameof(gamma), $"Focal γ must be ≥ 0, got {gamma}.");
        if (alpha is { } a && (a < 0 || a > 1)) throw new ArgumentOutOfRangeException(nameof(alpha), $"Focal α must be between 0 and 1, got {a}.");
        if (alpha is not null && mode == LossMode.Multiclass)
            throw new ArgumentException("Focal α is the positive-class weight of Binary/Multilabel mode; for Multiclass give classWeights.", nameof(alpha));
        if (classWeights is not null && mode != LossMode.Multiclass)
            throw new ArgumentException("classWeights apply to Multiclass mode; for Binary/Multilabel give alpha.", nameof(classWeights));
        if (classWeights is not null && classWeights.Any(w => w < 0))
            throw new ArgumentOutOfRangeException(nameof(classWeights), "Class weights must not be negative.");
        Mode = mode;
        Gamma = gamma;
        Alpha = alpha;
        this.classWeights = classWeights?.ToArray();
        IgnoreIndex = ignoreIndex;
    }

    public LossMode Mode { get; }
    public double Gamma { get; }
    public double? Alpha { get; }
    public IReadOnlyList<double>? ClassWeights => classWeights;
    public long? IgnoreIndex { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var loss = Mode == LossMode.Multiclass ? Multiclass(logits, target) : Sigmoid(logits, target);
        return loss.MoveToOuterDisposeScope();
    }

    private Tensor Sigmoid(Tensor logits, Tensor target)
    {
        var t = LossInputs.Target(logits, target, Mode);
        using var ignore = IgnoreIndex?.ToScalar();
        using var gamma = Gamma.ToScalar();
        var valid = ignore is not null ? t.ne(ignore).to_type(logits.dtype) : ones_like(t);
        t = t * valid;
        var ce = nn.functional.binary_cross_entropy_with_logits(logits, t, reduction: nn.Reduction.None); // −log p_t
        var loss = Gamma == 0 ? ce : Scalars.OneDouble.Minus((-ce).exp()).pow(gamma) * ce;
        if (Alpha is { } a)
        {
            using var alpha = a.ToScalar();
            using var rest = (1 - a).ToScalar();
            loss = loss * (alpha * t).Plus(rest * Scalars.OneDouble.Minus(t));
        }
        return (loss * valid).sum() / valid.sum().clamp_min(Scalars.One);
    }

    private Tensor Multiclass(Tensor logits, Tensor target)
    {
        var t = LossInputs.Target(logits, target, Mode);
        using var ignore = IgnoreIndex?.ToScalar();
        using var gamma = Gamma.ToScalar();
        using var floor = 1e-12.ToScalar();
        var valid = ignore is not null ? t.ne(ignore) : ones_like(t, dtype: ScalarType.Bool);
        var labels = t.masked_fill(valid.logical_not(), Scalars.Zero);
        LossInputs.CheckLabels(labels, logits.shape[1]);
        var logpt = nn.functional.log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1);
        var loss = Gamma == 0 ? -logpt : -Scalars.OneDouble.Minus(logpt.exp()).pow(gamma) * logpt;
        var w = valid.to_type(logits.dtype);
        if (classWeights is not null) w = w * LossInputs.Weights(classWeights, logits, "classWeights")[labels];
        return (loss * w).sum() / w.sum().clamp_min(floor);
    }
}
