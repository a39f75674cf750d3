using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>
/// UNeXt (Valanarasu &amp; Patel, MICCAI 2022, "UNeXt: MLP-based Rapid Medical Image Segmentation Network"), following
/// the official <c>UNext</c> of jeya-maria-jose/UNeXt-pytorch (archs.py): three conv stages (16, 32, 128 channels;
/// 3×3 conv → BN → max-pool 2 → ReLU), two tokenized-MLP stages (160, 256 channels; overlapping 3×3 stride-2 patch
/// embedding + LayerNorm, one shifted-MLP block each), and a decoder that mirrors them with bilinear ×2 upsampling and
/// additive skips, ending in a 1×1 conv to <see cref="ModelOptions.Classes"/> logits. 1,471,921 parameters for 3 → 1.
/// Field names follow the reference so that state-dict keys match (<c>encoder1</c>, <c>ebn1</c>, <c>patch_embed3</c>,
/// <c>block1.0.mlp.fc1</c>, ...). Variant "s" is the reference's smaller <c>UNext_S</c> (8, 16, 32 / 64, 128 channels).
/// </summary>
public sealed class UNeXt : SegmentationModel
{
    /// <summary>Variants this model accepts in <see cref="ModelOptions.Variant"/> (null = "default").</summary>
    public static readonly IReadOnlyList<string> Variants = ["default", "s"];

    private readonly Conv2d encoder1, encoder2, encoder3;
    private readonly BatchNorm2d ebn1, ebn2, ebn3;
    private readonly LayerNorm norm3, norm4, dnorm3, dnorm4;
    private readonly ModuleList<ShiftedBlock> block1, block2, dblock1, dblock2;
    private readonly OverlapPatchEmbed patch_embed3, patch_embed4;
    private readonly Conv2d decoder1, decoder2, decoder3, decoder4, decoder5;
    private readonly BatchNorm2d dbn1, dbn2, dbn3, dbn4;
    private readonly Conv2d final;

    public UNeXt(ModelOptions options) : base("UNeXt", options)
    {
        var (c1, c2, c3, e2, e3) = (options.Variant ?? "default").ToLowerInvariant() switch
        {
            "default" => (16L, 32L, 128L, 160L, 256L),
            "s" => (8L, 16L, 32L, 64L, 128L),
            _ => throw new ArgumentException(
                $"Unknown UNeXt variant '{options.Variant}'. Valid variants: {string.Join(", ", Variants)}.", nameof(options)),
        };

        encoder1 = nn.Conv2d(options.InChannels, c1, 3, stride: 1, padding: 1);
        encoder2 = nn.Conv2d(c1, c2, 3, stride: 1, padding: 1);
        encoder3 = nn.Conv2d(c2, c3, 3, stride: 1, padding: 1);
        ebn1 = nn.BatchNorm2d(c1);
        ebn2 = nn.BatchNorm2d(c2);
        ebn3 = nn.BatchNorm2d(c3);

        norm3 = nn.LayerNorm(e2);
        norm4 = nn.LayerNorm(e3);
        dnorm3 = nn.LayerNorm(e2);
        dnorm4 = nn.LayerNorm(c3);

        block1 = nn.ModuleList(new ShiftedBlock(e2));
        block2 = nn.ModuleList(new ShiftedBlock(e3));
        dblock1 = nn.ModuleList(new ShiftedBlock(e2));
        dblock2 = nn.ModuleList(new ShiftedBlock(c3));

        patch_embed3 = new OverlapPatchEmbed(c3, e2);
        patch_embed4 = new OverlapPatchEmbed(e2, e3);

        decoder1 = nn.Conv2d(e3, e2, 3, stride: 1, padding: 1);
        decoder2 = nn.Conv2d(e2, c3, 3, stride: 1, padding: 1);
        decoder3 = nn.Conv2d(c3, c2, 3, stride: 1, padding: 1);
        decoder4 = nn.Conv2d(c2, c1, 3, stride: 1, padding: 1);
        decoder5 = nn.Conv2d(c1, c1, 3, stride: 1, padding: 1);
        dbn1 = nn.BatchNorm2d(e2);
        dbn2 = nn.BatchNorm2d(c3);
        dbn3 = nn.BatchNorm2d(c2);
        dbn4 = nn.BatchNorm2d(c1);

        final = nn.Conv2d(c1, options.Classes, 1);

        RegisterComponents();
    }

    /// <summary>Three max-pools and two stride-2 patch embeddings: 2^5.</summary>
    public override int SizeMultiple => 32;

    /// <summary>Channels-last batches and weights: measured on the idle 2-core machine (docs/benchmarks.md, "UNeXt"),
    /// train step 539 ms NCHW, 472 ms channels-last input, 338 ms channels-last input and weights (batch 8, 256²).</summary>
    public override bool TrainsChannelsLastWeights => true;

    public override Tensor forward(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var b = input.shape[0];

        // Conv stages.
        var t1 = F.relu(F.max_pool2d(ebn1.call(encoder1.call(input)), 2, 2));
        var t2 = F.relu(F.max_pool2d(ebn2.call(encoder2.call(t1)), 2, 2));
        var t3 = F.relu(F.max_pool2d(ebn3.call(encoder3.call(t2)), 2, 2));

        // Tokenized MLP stage (1/16).
        var (h, w) = (t3.shape[2] / 2, t3.shape[3] / 2);
        var tokens = patch_embed3.call(t3);
        foreach (var block in block1) tokens = block.call(tokens, h, w);
        var t4 = ToImage(norm3.call(tokens), b, h, w);

        // Bottleneck (1/32).
        (h, w) = (h / 2, w / 2);
        tokens = patch_embed4.call(t4);
        foreach (var block in block2) tokens = block.call(tokens, h, w);
        var x = ToImage(norm4.call(tokens), b, h, w);

        // Decoder: back to 1/16 with a tokenized block.
        x = F.relu(Up(dbn1.call(decoder1.call(x)))).Plus(t4);
        (h, w) = (x.shape[2], x.shape[3]);
        tokens = x.flatten(2).transpose(1, 2);
        foreach (var block in dblock1) tokens = block.call(tokens, h, w);
        x = ToImage(dnorm3.call(tokens), b, h, w);

        // 1/8 with a tokenized block.
        x = F.relu(Up(dbn2.call(decoder2.call(x)))).Plus(t3);
        (h, w) = (x.shape[2], x.shape[3]);
        tokens = x.flatten(2).transpose(1, 2);
        foreach (var block in dblock2) tokens = block.call(tokens, h, w);
        x = ToImage(dnorm4.call(tokens), b, h, w);

        // Conv decoder stages back to full resolution.
        x = F.relu(Up(dbn3.call(decoder3.call(x)))).Plus(t2);
        x = F.relu(Up(dbn4.call(decoder4.call(x)))).Plus(t1);
        x = F.relu(Up(decoder5.call(x)));
        return final.call(x).MoveToOuterDisposeScope();
    }

    private static Tensor ToImage(Tensor tokens, long b, long h, long w) =>
        tokens.reshape(b, h, w, -1).permute(0, 3, 1, 2).contiguous();

    private static Tensor Up(Tensor x) =>
        F.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Bilinear, align_corners: false);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var m in new IDisposable[]
                     {
                         encoder1, encoder2, encoder3, ebn1, ebn2, ebn3, norm3, norm4, dnorm3, dnorm4,
                         block1, block2, dblock1, dblock2, patch_embed3, patch_embed4,
                         decoder1, decoder2, decoder3, decoder4, decoder5, dbn1, dbn2, dbn3, dbn4, final,
                     })
                m.Dispose();
        }
        base.Dispose(disposing);
    }
}
