using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>Depth-wise 3×3 convolution over a token sequence (B, H·W, C) seen as an image (B, C, H, W).</summary>
public sealed class DWConv : nn.Module<Tensor, long, long, Tensor>
{
    private readonly Conv2d dwconv;

    public DWConv(long dim) : base(nameof(DWConv))
    {
        dwconv = nn.Conv2d(dim, dim, 3, stride: 1, padding: 1, groups: dim, bias: true);
        UNeXtInit.Conv(dwconv, 3, dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, long height, long width)
    {
        var b = x.shape[0];
        var c = x.shape[2];
        using var image = x.transpose(1, 2).reshape(b, c, height, width);
        using var y = dwconv.call(image);
        return y.flatten(2).transpose(1, 2);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) dwconv.Dispose();
        base.Dispose(disposing);
    }
}
