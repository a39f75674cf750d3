using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.PSPNet;

/// <summary>
/// PSPNet (Zhao et al. 2017): dilated ResNet at output stride 8 (torchvision stem; the paper's deep 3×3 stem and
/// auxiliary loss are left out), pyramid pooling over 1×1, 2×2, 3×3 and 6×6 bins each reduced to C/4 channels, a 3×3
/// conv to 512 channels, dropout 0.1 and a 1×1 classifier; logits are resized to the input. Variants are backbones:
/// <c>resnet50</c> (default), <c>resnet34</c>, <c>resnet18</c>. Training needs batches of 2 or more (BatchNorm after
/// the 1×1 pooled bin), as in the reference.
/// </summary>
public sealed class PSPNet : SegmentationModel, IVariantModel
{
    public static readonly IReadOnlyList<string> Variants = ["resnet50", "resnet34", "resnet18"];

    private readonly ResNetEncoder encoder;
    private readonly PyramidPooling ppm;
    private readonly Sequential cls;

    public PSPNet(ModelOptions options) : base("PSPNet", options)
    {
        Variant = ModelVariants.Resolve("pspnet", options.Variant, Variants);
        encoder = new ResNetEncoder(Variant, options.InChannels, outputStride: 8);
        var channels = encoder.OutChannels[3];
        ppm = new PyramidPooling(channels, channels / 4, [1, 2, 3, 6]);
        cls = nn.Sequential(
            ("0", nn.Conv2d(channels * 2, 512, 3, padding: 1, bias: false)),
            ("1", nn.BatchNorm2d(512)),
            ("2", nn.ReLU(inplace: true)),
            ("3", nn.Dropout2d(0.1)),
            ("4", nn.Conv2d(512, options.Classes, 1)));
        RegisterComponents();
    }

    public string Variant { get; }

    public IReadOnlyList<string> AvailableVariants => Variants;

    public override int SizeMultiple => 8;

    public override Tensor forward(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var features = encoder.call(input);
        var logits = cls.call(ppm.call(features[3]));
        return Layers.ResizeTo(logits, input.shape[2], input.shape[3]).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            encoder.Dispose(); ppm.Dispose(); cls.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>Pyramid pooling module: the input concatenated with each bin's pooled, reduced and upsampled map
    /// (<c>features.N.{0 pool, 1 conv, 2 bn, 3 relu}</c>, as in hszhao/semseg).</summary>
    private sealed class PyramidPooling : nn.Module<Tensor, Tensor>
    {
        private readonly ModuleList<Sequential> features;

        public PyramidPooling(long inChannels, long reduction, long[] bins) : base(nameof(PyramidPooling))
        {
            features = new ModuleList<Sequential>([.. bins.Select(bin => nn.Sequential(
                ("0", nn.AdaptiveAvgPool2d(bin)),
                ("1", nn.Conv2d(inChannels, reduction, 1, bias: false)),
                ("2", nn.BatchNorm2d(reduction)),
                ("3", nn.ReLU(inplace: true))))]);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var parts = new List<Tensor> { x };
            foreach (var branch in features) parts.Add(Layers.ResizeLike(branch.call(x), x));
            return torch.cat(parts, 1).MoveToOuterDisposeScope();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) features.Dispose();
            base.Dispose(disposing);
        }
    }
}
