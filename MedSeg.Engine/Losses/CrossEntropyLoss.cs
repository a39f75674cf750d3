using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Softmax cross-entropy for Multiclass mode (logits N×C×H×W, int64 labels N×H×W), as PyTorch's <c>cross_entropy</c>: with
/// class weights w the mean is Σ w[t]·(−log p_t) / Σ w[t] over the pixels whose label is not <see cref="IgnoreIndex"/>.
/// </summary>
public sealed class CrossEntropyLoss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly double[]? classWeights;

    /// <param name="classWeights">one weight per class, or null for equal weights.</param>
    /// <param name="ignoreIndex">label of pixels that do not count (PyTorch's default −100).</param>
    /// <param name="labelSmoothing">PyTorch's label_smoothing, 0 … 1.</param>
    public CrossEntropyLoss(IReadOnlyList<double>? classWeights = null, long ignoreIndex = -100, double labelSmoothing = 0)
        : base(nameof(CrossEntropyLoss))
    {
        if (classWeights is not null && classWeights.Any(w => w < 0))
            throw new ArgumentOutOfRangeException(nameof(classWeights), "Class weights must not be negative.");
        if (labelSmoothing is < 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), "Label smoothing must be between 0 and 1.");
        this.classWeights = classWeights?.ToArray();
        IgnoreIndex = ignoreIndex;
        LabelSmoothing = labelSmoothing;
    }

    public IReadOnlyList<double>? ClassWeights => classWeights;
    public long IgnoreIndex { get; }
    public double LabelSmoothing { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var t = LossInputs.Target(logits, target, LossMode.Multiclass);
        using var ignore = IgnoreIndex.ToScalar();
        LossInputs.CheckLabels(t.masked_fill(t.eq(ignore), Scalars.Zero), logits.shape[1]);
        var w = classWeights is null ? null : LossInputs.Weights(classWeights, logits, "classWeights");
        return nn.functional.cross_entropy(logits, t, w, IgnoreIndex, label_smoothing: LabelSmoothing).MoveToOuterDisposeScope();
    }
}
