using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Soft Dice loss for binary segmentation on logits: p = sigmoid(logits), loss = 1 − (2·Σp·t + smooth) / (Σp + Σt + smooth),
/// sums over the whole batch (as segmentation_models_pytorch's binary mode). Target is 0/1, same shape as logits.
/// </summary>
public sealed class DiceLoss(double smooth = 1.0) : nn.Module<Tensor, Tensor, Tensor>(nameof(DiceLoss))
{
    public double Smooth { get; } = smooth;

    public override Tensor forward(Tensor logits, Tensor target)
    {
        if (!logits.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"Logits {Shape(logits)} and target {Shape(target)} must have the same shape.");
        using var scope = NewDisposeScope();
        var p = logits.sigmoid();
        var t = target.to_type(p.dtype);
        var intersection = (p * t).sum();
        var denominator = p.sum() + t.sum();
        var dice = (2.0 * intersection + Smooth) / (denominator + Smooth);
        return (1.0 - dice).MoveToOuterDisposeScope();
    }

    private static string Shape(Tensor t) => "(" + string.Join(", ", t.shape) + ")";
}
