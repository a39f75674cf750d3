using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNet;

/// <summary>
/// U-Net (Ronneberger et al. 2015) with "same" padding, BatchNorm after every 3×3 conv, four 2×2 max-pool downsamplings
/// and four upsamplings. Field names follow the widely used milesial/Pytorch-UNet (<c>inc</c>, <c>down1</c>.., <c>up1</c>..,
/// <c>outc</c>). Variants: <c>transposed</c> (default; 64-channel base, 2×2 transposed-conv "up-convolution" as in the
/// paper's figure, 31.0 M parameters), <c>bilinear</c> (64-channel base, bilinear upsampling and halved bottleneck, 17.3 M),
/// <c>small</c> (16-channel base, transposed conv, 1.9 M; for CPU runs and tests).
/// </summary>
public sealed class UNet : SegmentationModel, IVariantModel
{
    public static readonly IReadOnlyList<string> Variants = ["transposed", "bilinear", "small"];

    private readonly DoubleConv inc;
    private readonly Down down1, down2, down3, down4;
    private readonly Up up1, up2, up3, up4;
    private readonly Conv2d outc;

    public UNet(ModelOptions options) : base("UNet", options)
    {
        Variant = ModelVariants.Resolve("unet", options.Variant, Variants);
        var bilinear = Variant == "bilinear";
        long b = Variant == "small" ? 16 : 64;
        var factor = bilinear ? 2 : 1;
        inc = new DoubleConv(options.InChannels, b);
        down1 = new Down(b, b * 2);
        down2 = new Down(b * 2, b * 4);
        down3 = new Down(b * 4, b * 8);
        down4 = new Down(b * 8, b * 16 / factor);
        up1 = new Up(b * 16, b * 8 / factor, bilinear);
        up2 = new Up(b * 8, b * 4 / factor, bilinear);
        up3 = new Up(b * 4, b * 2 / factor, bilinear);
        up4 = new Up(b * 2, b, bilinear);
        outc = nn.Conv2d(b, options.Classes, 1);
        RegisterComponents();
    }

    public string Variant { get; }

    public IReadOnlyList<string> AvailableVariants => Variants;

    public override int SizeMultiple => 16;

    public override Tensor forward(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var x1 = inc.call(input);
        var x2 = down1.call(x1);
        var x3 = down2.call(x2);
        var x4 = down3.call(x3);
        var x5 = down4.call(x4);
        var x = up1.call((x5, x4));
        x = up2.call((x, x3));
        x = up3.call((x, x2));
        x = up4.call((x, x1));
        return outc.call(x).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inc.Dispose(); down1.Dispose(); down2.Dispose(); down3.Dispose(); down4.Dispose();
            up1.Dispose(); up2.Dispose(); up3.Dispose(); up4.Dispose(); outc.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>(conv 3×3 → BN → ReLU) × 2 as <c>double_conv.{0,1,3,4}</c>.</summary>
    private sealed class DoubleConv : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential double_conv;

        public DoubleConv(long inChannels, long outChannels, long? midChannels = null) : base(nameof(DoubleConv))
        {
            var mid = midChannels ?? outChannels;
            double_conv = nn.Sequential(
                ("0", nn.Conv2d(inChannels, mid, 3, padding: 1, bias: false)),
                ("1", nn.BatchNorm2d(mid)),
                ("2", nn.ReLU(inplace: true)),
                ("3", nn.Conv2d(mid, outChannels, 3, padding: 1, bias: false)),
                ("4", nn.BatchNorm2d(outChannels)),
                ("5", nn.ReLU(inplace: true)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => double_conv.call(x);

        protected override void Dispose(bool disposing)
        {
            if (disposing) double_conv.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>2×2 max-pool then <see cref="DoubleConv"/>, as <c>maxpool_conv.{0,1}</c>.</summary>
    private sealed class Down : nn.Module<Tensor, Tensor>
    {
        private readonly Sequential maxpool_conv;

        public Down(long inChannels, long outChannels) : base(nameof(Down))
        {
            maxpool_conv = nn.Sequential(("0", nn.MaxPool2d(2)), ("1", new DoubleConv(inChannels, outChannels)));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => maxpool_conv.call(x);

        protected override void Dispose(bool disposing)
        {
            if (disposing) maxpool_conv.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Upsample the deeper map ×2, concatenate the skip, <see cref="DoubleConv"/>.</summary>
    private sealed class Up : nn.Module<(Tensor Deep, Tensor Skip), Tensor>
    {
        private readonly nn.Module<Tensor, Tensor> up;
        private readonly DoubleConv conv;

        public Up(long inChannels, long outChannels, bool bilinear) : base(nameof(Up))
        {
            if (bilinear)
            {
                up = nn.Upsample(scale_factor: [2, 2], mode: UpsampleMode.Bilinear, align_corners: true);
                conv = new DoubleConv(inChannels, outChannels, inChannels / 2);
            }
            else
            {
                up = nn.ConvTranspose2d(inChannels, inChannels / 2, 2, stride: 2);
                conv = new DoubleConv(inChannels, outChannels);
            }
            RegisterComponents();
        }

        public override Tensor forward((Tensor Deep, Tensor Skip) input)
        {
            using var upsampled = up.call(input.Deep);
            using var cat = torch.cat([input.Skip, upsampled], 1);
            return conv.call(cat);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                up.Dispose(); conv.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
