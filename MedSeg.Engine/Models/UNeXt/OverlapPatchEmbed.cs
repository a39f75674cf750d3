using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>3×3 stride-2 convolution to tokens, then LayerNorm: (B, Cin, H, W) → (B, H/2·W/2, Cout).</summary>
public sealed class OverlapPatchEmbed : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly LayerNorm norm;

    public OverlapPatchEmbed(long inChannels, long embedDim, long patchSize = 3, long stride = 2) : base(nameof(OverlapPatchEmbed))
    {
        proj = nn.Conv2d(inChannels, embedDim, patchSize, stride: stride, padding: patchSize / 2);
        norm = nn.LayerNorm(embedDim);
        UNeXtInit.Conv(proj, patchSize, embedDim, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var projected = proj.call(x);
        using var tokens = projected.flatten(2).transpose(1, 2);
        return norm.call(tokens);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            proj.Dispose();
            norm.Dispose();
        }
        base.Dispose(disposing);
    }
}
