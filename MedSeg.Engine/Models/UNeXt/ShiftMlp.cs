using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>
/// Shifted MLP of UNeXt: the channels are split into <c>shiftSize</c> groups, group g is shifted by g − shiftSize/2
/// pixels (zero fill) along the height before <c>fc1</c> and along the width before <c>fc2</c>, with a depth-wise conv
/// and GELU in between. Input and output are token sequences (B, H·W, C).
/// </summary>
public sealed class ShiftMlp : nn.Module<Tensor, long, long, Tensor>
{
    private readonly Linear fc1;
    private readonly DWConv dwconv;
    private readonly GELU act;
    private readonly Linear fc2;
    private readonly int shiftSize;
    private readonly int pad;

    public ShiftMlp(long inFeatures, long hiddenFeatures, int shiftSize = 5) : base(nameof(ShiftMlp))
    {
        fc1 = nn.Linear(inFeatures, hiddenFeatures);
        dwconv = new DWConv(hiddenFeatures);
        act = nn.GELU();
        fc2 = nn.Linear(hiddenFeatures, inFeatures);
        UNeXtInit.Linear(fc1);
        UNeXtInit.Linear(fc2);
        this.shiftSize = shiftSize;
        pad = shiftSize / 2;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, long height, long width)
    {
        using var shiftedRows = Shift(x, height, width, dim: 2);
        using var hidden = fc1.call(shiftedRows);
        using var mixed = dwconv.call(hidden, height, width);
        using var activated = act.call(mixed);
        using var shiftedColumns = Shift(activated, height, width, dim: 3);
        return fc2.call(shiftedColumns);
    }

    /// <summary>(B, N, C) tokens → image, zero-pad, roll each channel group by its offset along <paramref name="dim"/>, crop back.</summary>
    private Tensor Shift(Tensor tokens, long height, long width, long dim)
    {
        using var scope = NewDisposeScope();
        var b = tokens.shape[0];
        var c = tokens.shape[2];
        var image = tokens.transpose(1, 2).reshape(b, c, height, width);
        var padded = nn.functional.pad(image, [pad, pad, pad, pad], PaddingModes.Constant, 0);
        var groups = padded.chunk(shiftSize, 1);
        var rolled = groups.Select((g, i) => g.roll(i - pad, dim)).ToArray();
        var cropped = cat(rolled, 1).narrow(2, pad, height).narrow(3, pad, width);
        return cropped.reshape(b, c, height * width).transpose(1, 2).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fc1.Dispose();
            dwconv.Dispose();
            act.Dispose();
            fc2.Dispose();
        }
        base.Dispose(disposing);
    }
}
