using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MedSeg.Engine.Inference;

/// <summary>Which speed levers <see cref="UNeXtFastPath"/> pulls (all on by default; the bench turns them on one at a time).</summary>
public sealed record FastPathLevers(bool FoldBatchNorm = true, bool ChannelsLast = true, bool SliceShift = true, bool InPlace = true)
{
    public static FastPathLevers None => new(false, false, false, false);
}

/// <summary>
/// An inference-only forward pass of <see cref="Models.UNeXt.UNeXt"/> written as functional calls over a private copy of its
/// weights, so that it can (1) fold each BatchNorm into its conv and drop the BatchNorm op, (2) keep activations in
/// channels-last (NHWC) memory, where the token sequences (B, H·W, C) of the MLP stages are plain views rather than
/// transposed copies, (3) shift channel groups by slicing a one-sided padded view instead of pad → chunk → roll → cat → crop,
/// and (4) apply ReLU and the skip additions in place. Same numbers as the module's forward (to float rounding).
/// Not thread-safe; the caller opens <c>inference_mode</c> (or <c>no_grad</c>).
/// </summary>
public sealed class UNeXtFastPath : IDisposable
{
    private const int ShiftSize = 5;
    private const double LayerNormEps = 1e-5;

    private readonly Dictionary<string, Tensor> weights = [];
    private readonly Dictionary<string, (Tensor Mean, Tensor Var, Tensor Gamma, Tensor Beta, double Eps)> norms = [];
    private readonly Models.UNeXt.UNeXt model;

    public UNeXtFastPath(Models.UNeXt.UNeXt model, FastPathLevers? levers = null)
    {
        this.model = model;
        Levers = levers ?? new FastPathLevers();
        using var _ = no_grad();
        var state = model.state_dict();
        var batchNorms = model.named_modules().Where(m => m.module is TorchSharp.Modules.BatchNorm2d)
            .ToDictionary(m => m.name, m => ((TorchSharp.Modules.BatchNorm2d)m.module).eps);
        foreach (var (name, tensor) in state)
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            weights[name] = tensor.detach().clone().DetachFromDisposeScope();
        }
        foreach (var (conv, bn) in ConvNormPairs())
        {
            var eps = batchNorms[bn];
            if (Levers.FoldBatchNorm)
            {
                var (w, b) = BatchNormFolding.FoldedWeights(weights[conv + ".weight"], weights.GetValueOrDefault(conv + ".bias"),
                    weights[bn + ".weight"], weights[bn + ".bias"], weights[bn + ".running_mean"], weights[bn + ".running_var"], eps);
                Replace(conv + ".weight", w);
                Replace(conv + ".bias", b);
            }
            else
            {
                norms[bn] = (weights[bn + ".running_mean"], weights[bn + ".running_var"], weights[bn + ".weight"], weights[bn + ".bias"], eps);
            }
        }
        if (Levers.ChannelsLast)
            foreach (var key in weights.Keys.ToList())
                if (weights[key].dim() == 4) Replace(key, ToChannelsLast(weights[key]));
    }

    public FastPathLevers Levers { get; }

    public Models.ModelOptions Options => model.Options;

    /// <summary>(N, C, H, W) → logits (N, Classes, H, W), contiguous NCHW.</summary>
    public Tensor Forward(Tensor input)
    {
        model.CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var b = input.shape[0];
        var x0 = Levers.ChannelsLast ? ToChannelsLast(input) : input;

        var t1 = Relu(F.max_pool2d(ConvNorm(x0, "encoder1", "ebn1"), 2, 2));
        var t2 = Relu(F.max_pool2d(ConvNorm(t1, "encoder2", "ebn2"), 2, 2));
        var t3 = Relu(F.max_pool2d(ConvNorm(t2, "encoder3", "ebn3"), 2, 2));

        var (h, w) = (t3.shape[2] / 2, t3.shape[3] / 2);
        var tokens = PatchEmbed(t3, "patch_embed3");
        tokens = Block(tokens, "block1.0", h, w);
        var t4 = ToImage(LayerNorm(tokens, "norm3"), b, h, w);

        (h, w) = (h / 2, w / 2);
        tokens = PatchEmbed(t4, "patch_embed4");
        tokens = Block(tokens, "block2.0", h, w);
        var x = ToImage(LayerNorm(tokens, "norm4"), b, h, w);

        x = UpReluAdd(ConvNorm(x, "decoder1", "dbn1"), t4);
        (h, w) = (x.shape[2], x.shape[3]);
        tokens = Block(ToTokens(x), "dblock1.0", h, w);
        x = ToImage(LayerNorm(tokens, "dnorm3"), b, h, w);

        x = UpReluAdd(ConvNorm(x, "decoder2", "dbn2"), t3);
        (h, w) = (x.shape[2], x.shape[3]);
        tokens = Block(ToTokens(x), "dblock2.0", h, w);
        x = ToImage(LayerNorm(tokens, "dnorm4"), b, h, w);

        x = UpReluAdd(ConvNorm(x, "decoder3", "dbn3"), t2);
        x = UpReluAdd(ConvNorm(x, "decoder4", "dbn4"), t1);
        x = Relu(Up(Conv(x, "decoder5", 1, 1)));
        return Conv(x, "final", 1, 0).contiguous().MoveToOuterDisposeScope();
    }

    private static IEnumerable<(string Conv, string Norm)> ConvNormPairs() =>
        [("encoder1", "ebn1"), ("encoder2", "ebn2"), ("encoder3", "ebn3"), ("decoder1", "dbn1"), ("decoder2", "dbn2"), ("decoder3", "dbn3"), ("decoder4", "dbn4")];

    private Tensor Conv(Tensor x, string name, long stride, long padding, long groups = 1) =>
        F.conv2d(x, weights[name + ".weight"], weights.GetValueOrDefault(name + ".bias"), [stride, stride], [padding, padding], groups: groups);

    private Tensor ConvNorm(Tensor x, string conv, string norm)
    {
        var y = Conv(x, conv, 1, 1);
        if (Levers.FoldBatchNorm) return y;
        var (mean, variance, gamma, beta, eps) = norms[norm];
        return F.batch_norm(y, mean, variance, gamma, beta, false, 0.1, eps);
    }

    private Tensor Relu(Tensor x) => Levers.InPlace ? x.relu_() : F.relu(x);

    private Tensor UpReluAdd(Tensor x, Tensor skip)
    {
        var up = Up(x);
        return Levers.InPlace ? up.relu_().PlusInPlace(skip) : F.relu(up).Plus(skip);
    }

    private static Tensor Up(Tensor x) =>
        F.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Bilinear, align_corners: false);

    private Tensor LayerNorm(Tensor x, string name) =>
        F.layer_norm(x, [x.shape[^1]], weights[name + ".weight"], weights[name + ".bias"], LayerNormEps);

    private Tensor PatchEmbed(Tensor x, string name) => LayerNorm(ToTokens(Conv(x, name + ".proj", 2, 1)), name + ".norm");

    /// <summary>(B, C, H, W) → (B, H·W, C): a view when x is channels-last.</summary>
    private static Tensor ToTokens(Tensor x) => x.flatten(2).transpose(1, 2);

    /// <summary>(B, H·W, C) → (B, C, H, W): a channels-last view, or an NCHW copy as the module makes.</summary>
    private Tensor ToImage(Tensor tokens, long b, long h, long w)
    {
        var image = tokens.reshape(b, h, w, -1).permute(0, 3, 1, 2);
        return Levers.ChannelsLast ? image : image.contiguous();
    }

    private Tensor Block(Tensor x, string name, long h, long w)
    {
        var normed = LayerNorm(x, name + ".norm2");
        var mlp = name + ".mlp";
        var hidden = F.linear(Shift(normed, h, w, alongHeight: true), weights[mlp + ".fc1.weight"], weights[mlp + ".fc1.bias"]);
        var b = hidden.shape[0];
        var c = hidden.shape[2];
        var image = hidden.transpose(1, 2).reshape(b, c, h, w);
        var mixed = ToTokens(Conv(image, mlp + ".dwconv.dwconv", 1, 1, groups: c));
        var activated = Levers.InPlace && mixed.is_contiguous() ? mixed.gelu_() : F.gelu(mixed);
        var y = F.linear(Shift(activated, h, w, alongHeight: false), weights[mlp + ".fc2.weight"], weights[mlp + ".fc2.bias"]);
        return Levers.InPlace ? y.PlusInPlace(x) : x.Plus(y);
    }

    /// <summary>UNeXt's shift: channel group g (torch.chunk into 5) moves by g − 2 pixels with zero fill along one axis.</summary>
    private Tensor Shift(Tensor tokens, long h, long w, bool alongHeight)
    {
        var b = tokens.shape[0];
        var c = tokens.shape[2];
        var pad = ShiftSize / 2;
        var chunk = (c + ShiftSize - 1) / ShiftSize;
        if (!Levers.SliceShift)
        {
            // The module's way: image, pad all sides, chunk, roll, cat, crop.
            var image = tokens.transpose(1, 2).reshape(b, c, h, w);
            var padded = F.pad(image, [pad, pad, pad, pad], PaddingModes.Constant, 0);
            var rolled = padded.chunk(ShiftSize, 1).Select((g, i) => g.roll(i - pad, alongHeight ? 2 : 3)).ToArray();
            var cropped = cat(rolled, 1).narrow(2, pad, h).narrow(3, pad, w);
            return cropped.reshape(b, c, h * w).transpose(1, 2);
        }
        // (B, H, W, C): pad only the shifted axis, then group g is the window starting at pad − (g − pad).
        var grid = tokens.reshape(b, h, w, c);
        var dim = alongHeight ? 1 : 2;
        var length = alongHeight ? h : w;
        var paddedGrid = alongHeight ? F.pad(grid, [0, 0, 0, 0, pad, pad]) : F.pad(grid, [0, 0, pad, pad]);
        var groups = new List<Tensor>();
        for (long start = 0, g = 0; start < c; start += chunk, g++)
            groups.Add(paddedGrid.narrow(3, start, Math.Min(chunk, c - start)).narrow(dim, pad - (g - pad), length));
        return cat(groups, 3).reshape(b, h * w, c);
    }

    /// <summary>The same logical tensor with NHWC strides (libtorch's channels_last).</summary>
    public static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    private void Replace(string key, Tensor value)
    {
        if (weights.TryGetValue(key, out var old)) old.Dispose();
        weights[key] = value.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in weights.Values) t.Dispose();
        weights.Clear();
        norms.Clear();
    }
}
