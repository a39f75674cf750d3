using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.DeepLabV3Plus;

/// <summary>
/// DeepLabV3+ (Chen et al. 2018) at output stride 16: backbone with its last stage dilated, ASPP (1×1 conv, 3×3 atrous
/// convs at rates 6/12/18, image pooling; 256 channels each, projected by a 1×1 conv with dropout 0.5), and a decoder that
/// upsamples ×4, concatenates the stride-4 features reduced to 48 channels, refines with two 3×3 convs and classifies;
/// logits are resized ×4 to the input. Plain (not depthwise-separable) convs in ASPP and decoder, as in torchvision.
/// Variants are backbones: <c>resnet50</c> (default), <c>resnet101</c>, <c>mobilenetv2</c>. Training needs batches of 2
/// or more (BatchNorm after image pooling), as in the reference.
/// </summary>
public sealed class DeepLabV3Plus : SegmentationModel, IVariantModel
{
    public static readonly IReadOnlyList<string> Variants = ["resnet50", "resnet101", "mobilenetv2"];

    private readonly Encoder encoder;
    private readonly Aspp aspp;
    private readonly nn.Module<Tensor, Tensor> block1;
    private readonly Sequential block2;
    private readonly Conv2d classifier;

    public DeepLabV3Plus(ModelOptions options) : base("DeepLabV3Plus", options)
    {
        Variant = ModelVariants.Resolve("deeplabv3plus", options.Variant, Variants);
        encoder = Variant == "mobilenetv2"
            ? new MobileNetV2Encoder(options.InChannels, outputStride: 16)
            : new ResNetEncoder(Variant, options.InChannels, outputStride: 16);
        aspp = new Aspp(encoder.OutChannels[3], 256, [6, 12, 18]);
        block1 = Layers.ConvBnRelu(encoder.OutChannels[0], 48, 1);
        block2 = nn.Sequential(
            ("0", Layers.ConvBnRelu(256 + 48, 256, 3)),
            ("1", Layers.ConvBnRelu(256, 256, 3)));
        classifier = nn.Conv2d(256, options.Classes, 1);
        RegisterComponents();
    }

    public string Variant { get; }

    public IReadOnlyList<string> AvailableVariants => Variants;

    public override int SizeMultiple => 16;

    public override Tensor forward(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var features = encoder.call(input);
        var lowLevel = block1.call(features[0]);
        var high = Layers.ResizeLike(aspp.call(features[3]), lowLevel);
        var decoded = block2.call(torch.cat([high, lowLevel], 1));
        var logits = classifier.call(decoded);
        return Layers.ResizeTo(logits, input.shape[2], input.shape[3]).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            encoder.Dispose(); aspp.Dispose(); block1.Dispose(); block2.Dispose(); classifier.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Atrous spatial pyramid pooling, torchvision names (<c>convs.0</c>..<c>convs.4</c>, <c>project</c>).</summary>
    private sealed class Aspp : nn.Module<Tensor, Tensor>
    {
        private readonly ModuleList<nn.Module<Tensor, Tensor>> convs;
        private readonly Sequential project;

        public Aspp(long inChannels, long outChannels, long[] rates) : base(nameof(Aspp))
        {
            var branches = new List<nn.Module<Tensor, Tensor>> { Layers.ConvBnRelu(inChannels, outChannels, 1) };
            branches.AddRange(rates.Select(r => Layers.ConvBnRelu(inChannels, outChannels, 3, dilation: r)));
            branches.Add(nn.Sequential(
                ("0", nn.AdaptiveAvgPool2d(1)),
                ("1", nn.Conv2d(inChannels, outChannels, 1, bias: false)),
                ("2", nn.BatchNorm2d(outChannels)),
                ("3", nn.ReLU(inplace: true))));
            convs = new ModuleList<nn.Module<Tensor, Tensor>>([.. branches]);
            project = nn.Sequential(
                ("0", nn.Conv2d(outChannels * branches.Count, outChannels, 1, bias: false)),
                ("1", nn.BatchNorm2d(outChannels)),
                ("2", nn.ReLU(inplace: true)),
                ("3", nn.Dropout(0.5)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var parts = convs.Select(branch => Layers.ResizeLike(branch.call(x), x)).ToList();
            return project.call(torch.cat(parts, 1)).MoveToOuterDisposeScope();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                convs.Dispose(); project.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
