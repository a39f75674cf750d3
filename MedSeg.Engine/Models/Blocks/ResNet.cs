using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Blocks;

/// <summary>ResNet basic block (He et al. 2016), torchvision field names; both 3×3 convs take the dilation.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 1;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    public BasicBlock(long inplanes, long planes, long stride = 1, long dilation = 1, nn.Module<Tensor, Tensor>? downsample = null)
        : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inplanes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, padding: dilation, dilation: dilation, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn1.call(conv1.call(x)).relu_();
        y = bn2.call(conv2.call(y));
        var identity = downsample is null ? x : downsample.call(x);
        return y.PlusInPlace(identity).relu_().MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose(); bn1.Dispose(); conv2.Dispose(); bn2.Dispose(); downsample?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>ResNet bottleneck block (torchvision v1.5: stride and dilation on the 3×3 conv), torchvision field names.</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly nn.Module<Tensor, Tensor>? downsample;

    public Bottleneck(long inplanes, long planes, long stride = 1, long dilation = 1, nn.Module<Tensor, Tensor>? downsample = null)
        : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inplanes, planes, 1, bias: false);
        bn1 = nn.BatchNorm2d(planes);
        conv2 = nn.Conv2d(planes, planes, 3, stride: stride, padding: dilation, dilation: dilation, bias: false);
        bn2 = nn.BatchNorm2d(planes);
        conv3 = nn.Conv2d(planes, planes * Expansion, 1, bias: false);
        bn3 = nn.BatchNorm2d(planes * Expansion);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = bn1.call(conv1.call(x)).relu_();
        y = bn2.call(conv2.call(y)).relu_();
        y = bn3.call(conv3.call(y));
        var identity = downsample is null ? x : downsample.call(x);
        return y.PlusInPlace(identity).relu_().MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose(); bn1.Dispose(); conv2.Dispose(); bn2.Dispose(); conv3.Dispose(); bn3.Dispose(); downsample?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// ResNet-18/34/50/101 without the classifier (torchvision field names <c>conv1</c>, <c>bn1</c>, <c>layer1</c>..<c>layer4</c>,
/// so torchvision ImageNet weights load by name). <paramref name="outputStride"/> 16 dilates layer4, 8 dilates layer3 and
/// layer4 (DeepLab/PSPNet style: stride replaced by dilation, torchvision's <c>replace_stride_with_dilation</c>).
/// </summary>
public sealed class ResNetEncoder : Encoder
{
    public static readonly IReadOnlyList<string> Depths = ["resnet18", "resnet34", "resnet50", "resnet101"];

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly MaxPool2d maxpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly int[] outChannels;
    private readonly int outputStride;
    private long inplanes = 64;
    private long dilation = 1;

    public ResNetEncoder(string depth, long inChannels, int outputStride = 32) : base("ResNetEncoder")
    {
        if (outputStride is not (8 or 16 or 32))
            throw new ArgumentOutOfRangeException(nameof(outputStride), "ResNet output stride must be 8, 16 or 32.");
        var (bottleneck, blocks) = depth switch
        {
            "resnet18" => (false, new[] { 2, 2, 2, 2 }),
            "resnet34" => (false, new[] { 3, 4, 6, 3 }),
            "resnet50" => (true, new[] { 3, 4, 6, 3 }),
            "resnet101" => (true, new[] { 3, 4, 23, 3 }),
            _ => throw new ArgumentException($"Unknown ResNet depth '{depth}'. Valid: {string.Join(", ", Depths)}.", nameof(depth)),
        };
        var e = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        outChannels = [64 * e, 128 * e, 256 * e, 512 * e];
        this.outputStride = outputStride;

        conv1 = nn.Conv2d(inChannels, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = nn.BatchNorm2d(64);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        layer1 = MakeLayer(bottleneck, 64, blocks[0], 1, dilate: false);
        layer2 = MakeLayer(bottleneck, 128, blocks[1], 2, dilate: false);
        layer3 = MakeLayer(bottleneck, 256, blocks[2], 2, dilate: outputStride == 8);
        layer4 = MakeLayer(bottleneck, 512, blocks[3], 2, dilate: outputStride <= 16);
        RegisterComponents();
    }

    public override IReadOnlyList<int> OutChannels => outChannels;

    public override int OutputStride => outputStride;

    private Sequential MakeLayer(bool bottleneck, long planes, int count, long stride, bool dilate)
    {
        var expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        var previousDilation = dilation;
        if (dilate)
        {
            dilation *= stride;
            stride = 1;
        }
        nn.Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inplanes != planes * expansion)
            downsample = nn.Sequential(
                ("0", nn.Conv2d(inplanes, planes * expansion, 1, stride: stride, bias: false)),
                ("1", nn.BatchNorm2d(planes * expansion)));
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (var i = 0; i < count; i++)
        {
            nn.Module<Tensor, Tensor> block = bottleneck
                ? new Bottleneck(inplanes, planes, i == 0 ? stride : 1, i == 0 ? previousDilation : dilation, i == 0 ? downsample : null)
                : new BasicBlock(inplanes, planes, i == 0 ? stride : 1, i == 0 ? previousDilation : dilation, i == 0 ? downsample : null);
            layers.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), block));
            inplanes = planes * expansion;
        }
        return nn.Sequential(layers);
    }

    public override Tensor[] forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        using var stem = maxpool.call(bn1.call(conv1.call(x)).relu_());
        var c1 = layer1.call(stem);
        var c2 = layer2.call(c1);
        var c3 = layer3.call(c2);
        var c4 = layer4.call(c3);
        Tensor[] features = [c1, c2, c3, c4];
        foreach (var f in features) f.MoveToOuterDisposeScope();
        return features;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            conv1.Dispose(); bn1.Dispose(); maxpool.Dispose();
            layer1.Dispose(); layer2.Dispose(); layer3.Dispose(); layer4.Dispose();
        }
        base.Dispose(disposing);
    }
}
