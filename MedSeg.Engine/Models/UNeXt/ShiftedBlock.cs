using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>Tokenized MLP block: x + ShiftMlp(LayerNorm(x)), mlp_ratio 1 as in the reference.</summary>
public sealed class ShiftedBlock : nn.Module<Tensor, long, long, Tensor>
{
    private readonly LayerNorm norm2;
    private readonly ShiftMlp mlp;

    public ShiftedBlock(long dim, double mlpRatio = 1.0) : base(nameof(ShiftedBlock))
    {
        norm2 = nn.LayerNorm(dim);
        mlp = new ShiftMlp(dim, (long)(dim * mlpRatio));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, long height, long width)
    {
        using var normed = norm2.call(x);
        using var y = mlp.call(normed, height, width);
        return x.Plus(y);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            norm2.Dispose();
            mlp.Dispose();
        }
        base.Dispose(disposing);
    }
}
