using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.SegFormer;

/// <summary>
/// SegFormer (Xie et al. 2021): hierarchical Mix Transformer encoder (overlap patch embedding, efficient self-attention
/// with reduction ratios 8/4/2/1, Mix-FFN) and an all-MLP decoder that projects the four stages to one width, upsamples
/// them to 1/4 resolution, fuses them with a 1×1 conv and predicts; logits are resized to the input. Variants:
/// <c>b0</c> (default, 3.7 M), <c>b1</c> (13.7 M), <c>b2</c> (27.3 M). Stochastic depth is not implemented.
/// </summary>
public sealed class SegFormer : SegmentationModel, IVariantModel
{
    public static readonly IReadOnlyList<string> Variants = ["b0", "b1", "b2"];

    private readonly MixVisionTransformer backbone;
    private readonly SegFormerHead decode_head;

    public SegFormer(ModelOptions options) : base("SegFormer", options)
    {
        Variant = ModelVariants.Resolve("segformer", options.Variant, Variants);
        long[] heads = [1, 2, 5, 8];
        var (dims, depths, decoderDim) = Variant switch
        {
            "b0" => (new long[] { 32, 64, 160, 256 }, new long[] { 2, 2, 2, 2 }, 256L),
            "b1" => (new long[] { 64, 128, 320, 512 }, new long[] { 2, 2, 2, 2 }, 256L),
            _ => (new long[] { 64, 128, 320, 512 }, new long[] { 3, 4, 6, 3 }, 768L),
        };
        backbone = new MixVisionTransformer(options.InChannels, dims, heads, depths);
        decode_head = new SegFormerHead(dims, decoderDim, options.Classes);
        RegisterComponents();
        InitWeights();
    }

    public string Variant { get; }

    public IReadOnlyList<string> AvailableVariants => Variants;

    public override Tensor forward(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var features = backbone.Features(input);
        var logits = decode_head.call(features);
        return Layers.ResizeTo(logits, input.shape[2], input.shape[3]).MoveToOuterDisposeScope();
    }

    /// <summary>Reference initialisation: normal (σ 0.02) for linear weights, zero biases. The reference truncates at ±2
    /// (absolute, i.e. 100 σ), which changes nothing; TorchSharp 0.107's <c>trunc_normal_</c> occasionally writes
    /// non-finite values, so a plain normal is used.</summary>
    private void InitWeights()
    {
        using var noGrad = torch.no_grad();
        foreach (var m in modules())
        {
            if (m is Linear l)
            {
                nn.init.normal_(l.weight!, std: 0.02);
                if (l.bias is not null) nn.init.zeros_(l.bias);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            backbone.Dispose(); decode_head.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>One linear projection of a stage's tokens to the decoder width (<c>linear_cN.proj</c>).</summary>
    private sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly Linear proj;

        public Mlp(long inputDim, long embedDim) : base(nameof(Mlp))
        {
            proj = nn.Linear(inputDim, embedDim);
            RegisterComponents();
        }

        /// <summary>(B, C, H, W) → (B, E, H, W).</summary>
        public override Tensor forward(Tensor x)
        {
            long b = x.shape[0], h = x.shape[2], w = x.shape[3];
            using var tokens = x.flatten(2).transpose(1, 2);
            using var y = proj.call(tokens);
            return y.permute(0, 2, 1).reshape(b, -1, h, w);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) proj.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>All-MLP decoder (mmseg ConvModule names for the fuse layer: <c>linear_fuse.conv</c>, <c>linear_fuse.bn</c>).</summary>
    private sealed class SegFormerHead : nn.Module<Tensor[], Tensor>
    {
        private readonly Mlp linear_c1, linear_c2, linear_c3, linear_c4;
        private readonly ConvModule linear_fuse;
        private readonly Dropout dropout;
        private readonly Conv2d linear_pred;

        public SegFormerHead(long[] dims, long embedDim, long classes) : base(nameof(SegFormerHead))
        {
            linear_c1 = new Mlp(dims[0], embedDim);
            linear_c2 = new Mlp(dims[1], embedDim);
            linear_c3 = new Mlp(dims[2], embedDim);
            linear_c4 = new Mlp(dims[3], embedDim);
            linear_fuse = new ConvModule(embedDim * 4, embedDim);
            dropout = nn.Dropout(0.1);
            linear_pred = nn.Conv2d(embedDim, classes, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor[] features)
        {
            using var scope = NewDisposeScope();
            var c1 = features[0];
            var p4 = Layers.ResizeLike(linear_c4.call(features[3]), c1);
            var p3 = Layers.ResizeLike(linear_c3.call(features[2]), c1);
            var p2 = Layers.ResizeLike(linear_c2.call(features[1]), c1);
            var p1 = linear_c1.call(c1);
            var fused = linear_fuse.call(torch.cat([p4, p3, p2, p1], 1));
            return linear_pred.call(dropout.call(fused)).MoveToOuterDisposeScope();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                linear_c1.Dispose(); linear_c2.Dispose(); linear_c3.Dispose(); linear_c4.Dispose();
                linear_fuse.Dispose(); dropout.Dispose(); linear_pred.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>1×1 conv (no bias) → BN → ReLU.</summary>
    private sealed class ConvModule : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv;
        private readonly BatchNorm2d bn;

        public ConvModule(long inChannels, long outChannels) : base(nameof(ConvModule))
        {
            conv = nn.Conv2d(inChannels, outChannels, 1, bias: false);
            bn = nn.BatchNorm2d(outChannels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            using var y = conv.call(x);
            return bn.call(y).relu_();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                conv.Dispose(); bn.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
