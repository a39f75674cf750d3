using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.SegFormer;

/// <summary>Overlapping patch embedding: strided conv (kernel 7/stride 4 for stage 1, 3/2 after) then LayerNorm.</summary>
internal sealed class OverlapPatchEmbed : nn.Module
{
    private readonly Conv2d proj;
    private readonly LayerNorm norm;

    public OverlapPatchEmbed(long patchSize, long stride, long inChannels, long dim) : base(nameof(OverlapPatchEmbed))
    {
        proj = nn.Conv2d(inChannels, dim, patchSize, stride: stride, padding: patchSize / 2);
        norm = nn.LayerNorm(dim);
        RegisterComponents();
    }

    /// <summary>(B, C, H, W) → tokens (B, H'·W', dim) and the new H', W'.</summary>
    public (Tensor Tokens, long Height, long Width) Embed(Tensor x)
    {
        using var y = proj.call(x);
        using var tokens = y.flatten(2).transpose(1, 2);
        return (norm.call(tokens), y.shape[2], y.shape[3]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            proj.Dispose(); norm.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Efficient self-attention: keys and values come from the token map shrunk by a strided conv
/// (reduction ratio <c>sr</c>), cutting the N² cost to N²/sr².</summary>
internal sealed class EfficientSelfAttention : nn.Module
{
    private readonly Linear q;
    private readonly Linear kv;
    private readonly Linear proj;
    private readonly Conv2d? sr;
    private readonly LayerNorm? norm;
    private readonly long heads;
    private readonly double scale;

    public EfficientSelfAttention(long dim, long heads, long srRatio) : base(nameof(EfficientSelfAttention))
    {
        this.heads = heads;
        scale = Math.Pow(dim / heads, -0.5);
        q = nn.Linear(dim, dim);
        kv = nn.Linear(dim, dim * 2);
        proj = nn.Linear(dim, dim);
        if (srRatio > 1)
        {
            sr = nn.Conv2d(dim, dim, srRatio, stride: srRatio);
            norm = nn.LayerNorm(dim);
        }
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], c = x.shape[2], d = c / heads;
        var query = q.call(x).reshape(b, n, heads, d).permute(0, 2, 1, 3);
        var source = x;
        if (sr is not null)
        {
            var map = x.permute(0, 2, 1).reshape(b, c, height, width);
            source = norm!.call(sr.call(map).reshape(b, c, -1).permute(0, 2, 1));
        }
        var keyValue = kv.call(source).reshape(b, -1, 2, heads, d).permute(2, 0, 3, 1, 4);
        var key = keyValue[0];
        var value = keyValue[1];
        var m = key.shape[2];
        using var scaling = scale.ToScalar();
        var attention = torch.matmul(query, key.transpose(-2, -1)).mul_(scaling).softmax(-1);
        var output = torch.matmul(attention, value).transpose(1, 2).reshape(b, n, c);
        Complexity.AddMatmul(2 * b * n * m * c); // Q·Kᵀ and A·V: B·heads·N·M·d each
        return proj.call(output).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            q.Dispose(); kv.Dispose(); proj.Dispose(); sr?.Dispose(); norm?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Depthwise 3×3 conv over the token map (field <c>dwconv</c> inside <c>dwconv</c>, as in the reference).</summary>
internal sealed class DWConv : nn.Module
{
    private readonly Conv2d dwconv;

    public DWConv(long dim) : base(nameof(DWConv))
    {
        dwconv = nn.Conv2d(dim, dim, 3, padding: 1, groups: dim);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, long height, long width)
    {
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        using var map = x.transpose(1, 2).reshape(b, c, height, width);
        using var y = dwconv.call(map);
        return y.flatten(2).transpose(1, 2);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) dwconv.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>Mix-FFN: Linear → depthwise 3×3 conv (positional information without position embeddings) → GELU → Linear.</summary>
internal sealed class MixFfn : nn.Module
{
    private readonly Linear fc1;
    private readonly DWConv dwconv;
    private readonly GELU act;
    private readonly Linear fc2;

    public MixFfn(long dim, long hidden) : base(nameof(MixFfn))
    {
        fc1 = nn.Linear(dim, hidden);
        dwconv = new DWConv(hidden);
        act = nn.GELU();
        fc2 = nn.Linear(hidden, dim);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, long height, long width)
    {
        using var h = fc1.call(x);
        using var mixed = dwconv.Forward(h, height, width);
        using var activated = act.call(mixed);
        return fc2.call(activated);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            fc1.Dispose(); dwconv.Dispose(); act.Dispose(); fc2.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
internal sealed class TransformerBlock : nn.Module
{
    private readonly LayerNorm norm1;
    private readonly EfficientSelfAttention attn;
    private readonly LayerNorm norm2;
    private readonly MixFfn mlp;

    public TransformerBlock(long dim, long heads, long mlpRatio, long srRatio) : base(nameof(TransformerBlock))
    {
        norm1 = nn.LayerNorm(dim, eps: 1e-6);
        attn = new EfficientSelfAttention(dim, heads, srRatio);
        norm2 = nn.LayerNorm(dim, eps: 1e-6);
        mlp = new MixFfn(dim, dim * mlpRatio);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, long height, long width)
    {
        using var scope = NewDisposeScope();
        var y = x.Plus(attn.Forward(norm1.call(x), height, width));
        y = y.Plus(mlp.Forward(norm2.call(y), height, width));
        return y.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            norm1.Dispose(); attn.Dispose(); norm2.Dispose(); mlp.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Mix Transformer encoder (MiT): four stages of overlap patch embedding, transformer blocks and LayerNorm;
/// returns feature maps at strides 4, 8, 16 and 32. Field names follow NVlabs/SegFormer (<c>patch_embed1</c>,
/// <c>block1.0.attn.q</c>, <c>norm1</c>, ...).</summary>
internal sealed class MixVisionTransformer : nn.Module
{
    private readonly OverlapPatchEmbed patch_embed1, patch_embed2, patch_embed3, patch_embed4;
    private readonly ModuleList<TransformerBlock> block1, block2, block3, block4;
    private readonly LayerNorm norm1, norm2, norm3, norm4;

    public MixVisionTransformer(long inChannels, long[] dims, long[] heads, long[] depths, long mlpRatio = 4) : base(nameof(MixVisionTransformer))
    {
        long[] sr = [8, 4, 2, 1];
        patch_embed1 = new OverlapPatchEmbed(7, 4, inChannels, dims[0]);
        patch_embed2 = new OverlapPatchEmbed(3, 2, dims[0], dims[1]);
        patch_embed3 = new OverlapPatchEmbed(3, 2, dims[1], dims[2]);
        patch_embed4 = new OverlapPatchEmbed(3, 2, dims[2], dims[3]);
        ModuleList<TransformerBlock> Stage(int i) =>
            new([.. Enumerable.Range(0, (int)depths[i]).Select(_ => new TransformerBlock(dims[i], heads[i], mlpRatio, sr[i]))]);
        block1 = Stage(0);
        block2 = Stage(1);
        block3 = Stage(2);
        block4 = Stage(3);
        norm1 = nn.LayerNorm(dims[0], eps: 1e-6);
        norm2 = nn.LayerNorm(dims[1], eps: 1e-6);
        norm3 = nn.LayerNorm(dims[2], eps: 1e-6);
        norm4 = nn.LayerNorm(dims[3], eps: 1e-6);
        RegisterComponents();
    }

    public Tensor[] Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var outputs = new Tensor[4];
        var stages = new[] { (patch_embed1, block1, norm1), (patch_embed2, block2, norm2), (patch_embed3, block3, norm3), (patch_embed4, block4, norm4) };
        var y = x;
        for (var i = 0; i < 4; i++)
        {
            var (embed, blocks, norm) = stages[i];
            var (tokens, h, w) = embed.Embed(y);
            foreach (var block in blocks) tokens = block.Forward(tokens, h, w);
            tokens = norm.call(tokens);
            y = tokens.reshape(tokens.shape[0], h, w, -1).permute(0, 3, 1, 2).contiguous();
            outputs[i] = y;
        }
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var m in new nn.Module[] { patch_embed1, patch_embed2, patch_embed3, patch_embed4, block1, block2, block3, block4, norm1, norm2, norm3, norm4 })
                m.Dispose();
        }
        base.Dispose(disposing);
    }
}
