using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Weighted sum Σ wᵢ·lossᵢ(logits, target) of losses that take the same inputs, e.g. Dice + cross-entropy (nnU-Net's default,
/// weights 1 and 1). The terms are registered as submodules and disposed with this module.
/// </summary>
public sealed class CompoundLoss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor, Tensor>[] losses;
    private readonly double[] weights;

    public CompoundLoss(params (nn.Module<Tensor, Tensor, Tensor> Loss, double Weight)[] terms) : base(nameof(CompoundLoss))
    {
        if (terms.Length == 0) throw new ArgumentException("A compound loss needs at least one term.", nameof(terms));
        if (terms.Any(t => double.IsNaN(t.Weight) || double.IsInfinity(t.Weight)))
            throw new ArgumentOutOfRangeException(nameof(terms), "Loss weights must be finite.");
        losses = [.. terms.Select(t => t.Loss)];
        weights = [.. terms.Select(t => t.Weight)];
        for (var i = 0; i < losses.Length; i++) register_module($"{i}_{losses[i].GetName()}", losses[i]);
    }

    public IReadOnlyList<(nn.Module<Tensor, Tensor, Tensor> Loss, double Weight)> Terms => [.. losses.Zip(weights)];

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (var i = 0; i < losses.Length; i++)
        {
            using var weight = weights[i].ToScalar();
            var term = weight * losses[i].call(logits, target);
            total = total is null ? term : total.Plus(term);
        }
        return total!.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var loss in losses) loss.Dispose();
        base.Dispose(disposing);
    }
}
