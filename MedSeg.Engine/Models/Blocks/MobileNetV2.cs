using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Blocks;

/// <summary>MobileNetV2 inverted residual (Sandler et al. 2018), torchvision layout: <c>conv.0</c> expand (when t ≠ 1),
/// depthwise 3×3, linear 1×1 projection, BatchNorm.</summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>
{
    private readonly Sequential conv;
    private readonly bool useResidual;

    public InvertedResidual(long inp, long oup, long stride, long expandRatio, long dilation = 1) : base(nameof(InvertedResidual))
    {
        var hidden = inp * expandRatio;
        useResidual = stride == 1 && inp == oup;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        if (expandRatio != 1) layers.Add(("0", Layers.ConvBnRelu(inp, hidden, 1, relu6: true)));
        layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Layers.ConvBnRelu(hidden, hidden, 3, stride, dilation, groups: hidden, relu6: true)));
        layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.Conv2d(hidden, oup, 1, bias: false)));
        layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), nn.BatchNorm2d(oup)));
        conv = nn.Sequential(layers);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (!useResidual) return conv.call(x);
        using var y = conv.call(x);
        return y.Plus(x);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) conv.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// MobileNetV2 (width 1.0) feature extractor with torchvision's <c>features.N</c> names; the final 1×1 conv to 1280
/// channels (<c>features.18</c>) is left out, as segmentation heads read the 320-channel map. Returns the outputs of
/// features 3, 6, 13 and 17 (strides 4, 8, 16, 32; with output stride 16 the last stage is dilated instead).
/// </summary>
public sealed class MobileNetV2Encoder : Encoder
{
    // t (expansion), c (channels), n (repeats), s (first stride): Sandler et al. 2018, Table 2.
    private static readonly int[][] Settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
    private static readonly int[] Taps = [3, 6, 13, 17];

    private readonly Sequential features;
    private readonly int outputStride;

    public MobileNetV2Encoder(long inChannels, int outputStride = 32) : base("MobileNetV2Encoder")
    {
        if (outputStride is not (16 or 32))
            throw new ArgumentOutOfRangeException(nameof(outputStride), "MobileNetV2 output stride must be 16 or 32.");
        this.outputStride = outputStride;
        var layers = new List<(string, nn.Module<Tensor, Tensor>)> { ("0", Layers.ConvBnRelu(inChannels, 32, 3, 2, relu6: true)) };
        long input = 32, stride = 2, dilation = 1;
        foreach (var s in Settings)
        {
            for (var i = 0; i < s[2]; i++)
            {
                long blockStride = i == 0 ? s[3] : 1, blockDilation = dilation;
                if (blockStride == 2 && stride * 2 > outputStride)
                {
                    blockStride = 1;
                    dilation *= 2;
                    blockDilation = dilation;
                }
                else
                {
                    stride *= blockStride;
                }
                layers.Add((layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    new InvertedResidual(input, s[1], blockStride, s[0], blockDilation)));
                input = s[1];
            }
        }
        features = nn.Sequential(layers);
        RegisterComponents();
    }

    public override IReadOnlyList<int> OutChannels => [24, 32, 96, 320];

    public override int OutputStride => outputStride;

    public override Tensor[] forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var outputs = new List<Tensor>(4);
        var y = x;
        var index = 0;
        foreach (var layer in features.children().Cast<nn.Module<Tensor, Tensor>>())
        {
            y = layer.call(y);
            if (Taps.Contains(index)) outputs.Add(y);
            index++;
        }
        foreach (var f in outputs) f.MoveToOuterDisposeScope();
        return [.. outputs];
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) features.Dispose();
        base.Dispose(disposing);
    }
}
