using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNetPlusPlus;

/// <summary>
/// UNet++ (Zhou et al. 2018): a U-Net whose decoder nodes X(i,j) take every earlier node of their level plus the
/// upsampled node below, with nb_filter 32/64/128/256/512 as in the UNeXt comparison (9.16 M parameters). Field names
/// follow the reference implementation used there (<c>conv0_0</c> .. <c>conv0_4</c>, <c>final</c>). Variants:
/// <c>base32</c> (default) and <c>small</c> (16-channel base, for CPU runs and tests). <see cref="ModelOptions.DeepSupervision"/>
/// adds 1×1 heads <c>final1</c>..<c>final4</c> on X(0,1)..X(0,4): training puts the loss on every head
/// (<see cref="IDeepSupervised.ForwardHeads"/>, equal weights as in the paper) and <see cref="forward"/> averages their logits
/// (the paper's ensemble mode). The variant <c>deepsup</c> of older runs is base32 with deep supervision.
/// </summary>
public sealed class UNetPlusPlus : SegmentationModel, IVariantModel, IDeepSupervised
{
    public static readonly IReadOnlyList<string> Variants = ["base32", "small", LegacyDeepSupervisionVariant];

    /// <summary>The variant name runs used for deep supervision before it became <see cref="ModelOptions.DeepSupervision"/>.</summary>
    public const string LegacyDeepSupervisionVariant = "deepsup";
    private static readonly Scalar Four = 4.ToScalar();

    private readonly VggBlock conv0_0, conv1_0, conv2_0, conv3_0, conv4_0;
    private readonly VggBlock conv0_1, conv1_1, conv2_1, conv3_1;
    private readonly VggBlock conv0_2, conv1_2, conv2_2;
    private readonly VggBlock conv0_3, conv1_3;
    private readonly VggBlock conv0_4;
    private readonly Conv2d? final;
    private readonly Conv2d? final1, final2, final3, final4;
    private readonly MaxPool2d pool;

    public UNetPlusPlus(ModelOptions options) : base("UNetPlusPlus", options)
    {
        Variant = ModelVariants.Resolve("unetplusplus", options.Variant, Variants);
        long b = Variant == "small" ? 16 : 32;
        long[] n = [b, b * 2, b * 4, b * 8, b * 16];
        pool = nn.MaxPool2d(2);
        conv0_0 = new VggBlock(options.InChannels, n[0], n[0]);
        conv1_0 = new VggBlock(n[0], n[1], n[1]);
        conv2_0 = new VggBlock(n[1], n[2], n[2]);
        conv3_0 = new VggBlock(n[2], n[3], n[3]);
        conv4_0 = new VggBlock(n[3], n[4], n[4]);
        conv0_1 = new VggBlock(n[0] + n[1], n[0], n[0]);
        conv1_1 = new VggBlock(n[1] + n[2], n[1], n[1]);
        conv2_1 = new VggBlock(n[2] + n[3], n[2], n[2]);
        conv3_1 = new VggBlock(n[3] + n[4], n[3], n[3]);
        conv0_2 = new VggBlock(n[0] * 2 + n[1], n[0], n[0]);
        conv1_2 = new VggBlock(n[1] * 2 + n[2], n[1], n[1]);
        conv2_2 = new VggBlock(n[2] * 2 + n[3], n[2], n[2]);
        conv0_3 = new VggBlock(n[0] * 3 + n[1], n[0], n[0]);
        conv1_3 = new VggBlock(n[1] * 3 + n[2], n[1], n[1]);
        conv0_4 = new VggBlock(n[0] * 4 + n[1], n[0], n[0]);
        DeepSupervision = options.DeepSupervision || Variant == LegacyDeepSupervisionVariant;
        if (DeepSupervision)
        {
            final1 = nn.Conv2d(n[0], options.Classes, 1);
            final2 = nn.Conv2d(n[0], options.Classes, 1);
            final3 = nn.Conv2d(n[0], options.Classes, 1);
            final4 = nn.Conv2d(n[0], options.Classes, 1);
        }
        else
        {
            final = nn.Conv2d(n[0], options.Classes, 1);
        }
        RegisterComponents();
    }

    public string Variant { get; }

    public IReadOnlyList<string> AvailableVariants => Variants;

    public bool DeepSupervision { get; }

    public int HeadCount => DeepSupervision ? 4 : 1;

    public override int SizeMultiple => 16;

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (x0_1, x0_2, x0_3, x0_4) = Nodes(input);
        var output = final is not null
            ? final.call(x0_4)
            : final1!.call(x0_1).Plus(final2!.call(x0_2)).Plus(final3!.call(x0_3)).Plus(final4!.call(x0_4)).div_(Four);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The four heads' logits, X(0,1) first; without deep supervision, the one output.</summary>
    public IReadOnlyList<Tensor> ForwardHeads(Tensor input)
    {
        if (!DeepSupervision) return [forward(input)];
        using var scope = NewDisposeScope();
        var (x0_1, x0_2, x0_3, x0_4) = Nodes(input);
        Tensor[] heads = [final1!.call(x0_1), final2!.call(x0_2), final3!.call(x0_3), final4!.call(x0_4)];
        foreach (var h in heads) h.MoveToOuterDisposeScope();
        return heads;
    }

    /// <summary>The top row's nested nodes X(0,1) … X(0,4), in the caller's dispose scope.</summary>
    private (Tensor, Tensor, Tensor, Tensor) Nodes(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        static Tensor Up(Tensor x) =>
            nn.functional.interpolate(x, scale_factor: [2, 2], mode: InterpolationMode.Bilinear, align_corners: true);
        static Tensor Cat(params Tensor[] xs) => torch.cat(xs, 1);

        var x0_0 = conv0_0.call(input);
        var x1_0 = conv1_0.call(pool.call(x0_0));
        var x0_1 = conv0_1.call(Cat(x0_0, Up(x1_0)));

        var x2_0 = conv2_0.call(pool.call(x1_0));
        var x1_1 = conv1_1.call(Cat(x1_0, Up(x2_0)));
        var x0_2 = conv0_2.call(Cat(x0_0, x0_1, Up(x1_1)));

        var x3_0 = conv3_0.call(pool.call(x2_0));
        var x2_1 = conv2_1.call(Cat(x2_0, Up(x3_0)));
        var x1_2 = conv1_2.call(Cat(x1_0, x1_1, Up(x2_1)));
        var x0_3 = conv0_3.call(Cat(x0_0, x0_1, x0_2, Up(x1_2)));

        var x4_0 = conv4_0.call(pool.call(x3_0));
        var x3_1 = conv3_1.call(Cat(x3_0, Up(x4_0)));
        var x2_2 = conv2_2.call(Cat(x2_0, x2_1, Up(x3_1)));
        var x1_3 = conv1_3.call(Cat(x1_0, x1_1, x1_2, Up(x2_2)));
        var x0_4 = conv0_4.call(Cat(x0_0, x0_1, x0_2, x0_3, Up(x1_3)));

        return (x0_1, x0_2, x0_3, x0_4);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var m in new nn.Module?[] { conv0_0, conv1_0, conv2_0, conv3_0, conv4_0, conv0_1, conv1_1, conv2_1, conv3_1,
                         conv0_2, conv1_2, conv2_2, conv0_3, conv1_3, conv0_4, final, final1, final2, final3, final4, pool })
                m?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>conv 3×3 → BN → ReLU → conv 3×3 → BN → ReLU (convs with bias, as in the reference).</summary>
    private sealed class VggBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly BatchNorm2d bn1;
        private readonly Conv2d conv2;
        private readonly BatchNorm2d bn2;

        public VggBlock(long inChannels, long middleChannels, long outChannels) : base(nameof(VggBlock))
        {
            conv1 = nn.Conv2d(inChannels, middleChannels, 3, padding: 1);
            bn1 = nn.BatchNorm2d(middleChannels);
            conv2 = nn.Conv2d(middleChannels, outChannels, 3, padding: 1);
            bn2 = nn.BatchNorm2d(outChannels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var y = bn1.call(conv1.call(x)).relu_();
            return bn2.call(conv2.call(y)).relu_();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                conv1.Dispose(); bn1.Dispose(); conv2.Dispose(); bn2.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
