using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Binary cross-entropy on logits (numerically stable log-sum-exp form), mean over the pixels that count. Binary or Multilabel
/// mode. <c>posWeight</c> multiplies the loss of positive pixels (PyTorch's <c>pos_weight</c>): one value for every channel, or
/// one per channel; &gt; 1 favours recall on a rare foreground (e.g. negatives / positives).
/// </summary>
public sealed class BinaryCrossEntropyLoss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly double[]? posWeight;

    public BinaryCrossEntropyLoss(LossMode mode = LossMode.Binary, double? posWeight = null, long? ignoreIndex = null)
        : this(mode, posWeight is { } w ? [w] : null, ignoreIndex) { }

    /// <param name="posWeight">one weight shared by all channels, or one per channel; null = 1.</param>
    public BinaryCrossEntropyLoss(LossMode mode, IReadOnlyList<double>? posWeight, long? ignoreIndex = null) : base(nameof(BinaryCrossEntropyLoss))
    {
        if (mode == LossMode.Multiclass)
            throw new ArgumentException("Binary cross-entropy needs Binary or Multilabel mode; use CrossEntropyLoss for Multiclass.", nameof(mode));
        if (posWeight is not null && (posWeight.Count == 0 || posWeight.Any(w => !(w > 0))))
            throw new ArgumentOutOfRangeException(nameof(posWeight), "Positive weights must be > 0.");
        Mode = mode;
        this.posWeight = posWeight?.ToArray();
        IgnoreIndex = ignoreIndex;
    }

    public LossMode Mode { get; }
    public IReadOnlyList<double>? PosWeight => posWeight;
    public long? IgnoreIndex { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var t = LossInputs.Target(logits, target, Mode);
        Tensor? pw = null;
        if (posWeight is not null)
        {
            pw = posWeight.Length == 1
                ? tensor(posWeight[0], dtype: logits.dtype, device: logits.device)
                : LossInputs.Weights(posWeight, logits, "posWeight").reshape([-1, .. Enumerable.Repeat(1L, (int)logits.dim() - 2)]);
        }
        if (IgnoreIndex is not { } ignore)
            return nn.functional.binary_cross_entropy_with_logits(logits, t, pos_weights: pw).MoveToOuterDisposeScope();
        using var ignored = ignore.ToScalar();
        var valid = t.ne(ignored).to_type(logits.dtype);
        var perPixel = nn.functional.binary_cross_entropy_with_logits(logits, t * valid, reduction: nn.Reduction.None, pos_weights: pw);
        return ((perPixel * valid).sum() / valid.sum().clamp_min(Scalars.One)).MoveToOuterDisposeScope();
    }
}
