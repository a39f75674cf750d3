using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>BCE-with-logits (mean over pixels) + soft Dice, equal weights: the usual binary segmentation loss.</summary>
public sealed class BceDiceLoss : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly DiceLoss dice;

    public BceDiceLoss(double smooth = 1.0) : base(nameof(BceDiceLoss))
    {
        dice = new DiceLoss(smooth);
        RegisterComponents();
    }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var t = target.to_type(logits.dtype);
        var bce = nn.functional.binary_cross_entropy_with_logits(logits, t);
        return bce.Plus(dice.call(logits, t)).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) dice.Dispose();
        base.Dispose(disposing);
    }
}
