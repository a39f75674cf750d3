using System.Globalization;
using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.HRNet;

/// <summary>
/// HRNetV2 (Wang et al. 2019) for segmentation: a stride-4 stem, then stages that keep parallel branches at strides
/// 4, 8, 16 and 32 and exchange information at the end of every module; the head upsamples all branches to stride 4,
/// concatenates them, and applies 1×1 conv → BN → ReLU → 1×1 classifier; logits are resized to the input. Field names and
/// stage configurations follow HRNet/HRNet-Semantic-Segmentation. Variants: <c>w18_small_v1</c> (default, 1.5 M),
/// <c>w18_small_v2</c> (3.9 M), <c>w18</c> (9.6 M).
/// </summary>
public sealed class HRNet : SegmentationModel, IVariantModel
{
    public static readonly IReadOnlyList<string> Variants = ["w18_small_v1", "w18_small_v2", "w18"];

    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Sequential layer1;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> transition1, transition2, transition3;
    private readonly Sequential stage2, stage3, stage4;
    private readonly Sequential last_layer;

    /// <summary>One stage: modules, blocks per branch, channels per branch (stage 1 is a single bottleneck branch).</summary>
    private sealed record StageConfig(int Modules, int Blocks, long[] Channels);

    public HRNet(ModelOptions options) : base("HRNet", options)
    {
        Variant = ModelVariants.Resolve("hrnet", options.Variant, Variants);
        var (s1, s2, s3, s4) = Variant switch
        {
            "w18_small_v1" => (new StageConfig(1, 1, [32]), new StageConfig(1, 2, [16, 32]),
                new StageConfig(1, 2, [16, 32, 64]), new StageConfig(1, 2, [16, 32, 64, 128])),
            "w18_small_v2" => (new StageConfig(1, 2, [64]), new StageConfig(1, 2, [18, 36]),
                new StageConfig(3, 2, [18, 36, 72]), new StageConfig(2, 2, [18, 36, 72, 144])),
            _ => (new StageConfig(1, 4, [64]), new StageConfig(1, 4, [18, 36]),
                new StageConfig(4, 4, [18, 36, 72]), new StageConfig(3, 4, [18, 36, 72, 144])),
        };
        conv1 = nn.Conv2d(options.InChannels, 64, 3, stride: 2, padding: 1, bias: false);
        bn1 = nn.BatchNorm2d(64);
        conv2 = nn.Conv2d(64, 64, 3, stride: 2, padding: 1, bias: false);
        bn2 = nn.BatchNorm2d(64);

        var planes = s1.Channels[0];
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        long inplanes = 64;
        for (var i = 0; i < s1.Blocks; i++)
        {
            nn.Module<Tensor, Tensor>? downsample = i == 0 && inplanes != planes * Bottleneck.Expansion
                ? nn.Sequential(("0", nn.Conv2d(inplanes, planes * Bottleneck.Expansion, 1, bias: false)), ("1", nn.BatchNorm2d(planes * Bottleneck.Expansion)))
                : null;
            layers.Add((Index(i), new Bottleneck(inplanes, planes, downsample: downsample)));
            inplanes = planes * Bottleneck.Expansion;
        }
        layer1 = nn.Sequential(layers);

        transition1 = Transition([inplanes], s2.Channels);
        stage2 = Stage(s2);
        transition2 = Transition(s2.Channels, s3.Channels);
        stage3 = Stage(s3);
        transition3 = Transition(s3.Channels, s4.Channels);
        stage4 = Stage(s4);

        var total = s4.Channels.Sum();
        last_layer = nn.Sequential(
            ("0", nn.Conv2d(total, total, 1)),
            ("1", nn.BatchNorm2d(total)),
            ("2", nn.ReLU(inplace: true)),
            ("3", nn.Conv2d(total, options.Classes, 1)));
        RegisterComponents();
    }

    public string Variant { get; }

    public IReadOnlyList<string> AvailableVariants => Variants;

    public override int SizeMultiple => 32;

    public override Tensor forward(Tensor input)
    {
        CheckInputSize(input.shape[2], input.shape[3]);
        using var scope = NewDisposeScope();
        var x = bn1.call(conv1.call(input)).relu_();
        x = bn2.call(conv2.call(x)).relu_();
        x = layer1.call(x);
        var y = RunStage(stage2, ApplyTransition(transition1, [x]));
        y = RunStage(stage3, ApplyTransition(transition2, y));
        y = RunStage(stage4, ApplyTransition(transition3, y));
        var merged = torch.cat([y[0], .. y.Skip(1).Select(b => Layers.ResizeLike(b, y[0]))], 1);
        var logits = last_layer.call(merged);
        return Layers.ResizeTo(logits, input.shape[2], input.shape[3]).MoveToOuterDisposeScope();
    }

    private static Tensor[] ApplyTransition(ModuleList<nn.Module<Tensor, Tensor>> transition, Tensor[] previous) =>
        [.. transition.Select((t, i) => t.call(previous[Math.Min(i, previous.Length - 1)]))];

    private static Tensor[] RunStage(Sequential stage, Tensor[] x)
    {
        foreach (var module in stage.children().Cast<HighResolutionModule>()) x = module.Forward(x);
        return x;
    }

    /// <summary>Existing branches pass through (or a 3×3 conv when the width changes); a new branch is made from the
    /// lowest-resolution one by stride-2 3×3 convs.</summary>
    private static ModuleList<nn.Module<Tensor, Tensor>> Transition(long[] previous, long[] current)
    {
        var list = new List<nn.Module<Tensor, Tensor>>();
        for (var i = 0; i < current.Length; i++)
        {
            if (i < previous.Length)
            {
                list.Add(current[i] != previous[i] ? Layers.ConvBnRelu(previous[i], current[i], 3) : nn.Identity());
                continue;
            }
            var steps = new List<(string, nn.Module<Tensor, Tensor>)>();
            for (var j = 0; j < i + 1 - previous.Length; j++)
            {
                var inCh = previous[^1];
                var outCh = j == i - previous.Length ? current[i] : inCh;
                steps.Add((Index(j), Layers.ConvBnRelu(inCh, outCh, 3, stride: 2)));
            }
            list.Add(nn.Sequential(steps));
        }
        return new ModuleList<nn.Module<Tensor, Tensor>>([.. list]);
    }

    private static Sequential Stage(StageConfig config) =>
        nn.Sequential(Enumerable.Range(0, config.Modules)
            .Select(i => (Index(i), (nn.Module<Tensor, Tensor>)new HighResolutionModule(config.Channels, config.Blocks))).ToList());

    internal static string Index(int i) => i.ToString(CultureInfo.InvariantCulture);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var m in new nn.Module[] { conv1, bn1, conv2, bn2, layer1, transition1, stage2, transition2, stage3, transition3, stage4, last_layer })
                m.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Parallel branches of basic blocks, then a fuse layer per output branch that sums every branch brought to its
/// resolution (1×1 conv + bilinear upsampling from lower resolutions, stride-2 3×3 convs from higher ones) and applies
/// ReLU. Names as in the reference: <c>branches.i.k</c>, <c>fuse_layers.i.j</c> (identity where i = j).</summary>
internal sealed class HighResolutionModule : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Sequential> branches;
    private readonly ModuleList<ModuleList<nn.Module<Tensor, Tensor>>> fuse_layers;

    public HighResolutionModule(long[] channels, int blocks) : base(nameof(HighResolutionModule))
    {
        branches = new ModuleList<Sequential>([.. channels.Select(c => nn.Sequential(
            Enumerable.Range(0, blocks).Select(k => (HRNet.Index(k), (nn.Module<Tensor, Tensor>)new BasicBlock(c, c))).ToList()))]);
        var fuse = new List<ModuleList<nn.Module<Tensor, Tensor>>>();
        for (var i = 0; i < channels.Length; i++)
        {
            var row = new List<nn.Module<Tensor, Tensor>>();
            for (var j = 0; j < channels.Length; j++)
            {
                if (j > i)
                {
                    row.Add(nn.Sequential(("0", nn.Conv2d(channels[j], channels[i], 1, bias: false)), ("1", nn.BatchNorm2d(channels[i]))));
                }
                else if (j == i)
                {
                    row.Add(nn.Identity());
                }
                else
                {
                    var steps = new List<(string, nn.Module<Tensor, Tensor>)>();
                    for (var k = 0; k < i - j; k++)
                    {
                        var last = k == i - j - 1;
                        steps.Add((HRNet.Index(k), last
                            ? nn.Sequential(("0", nn.Conv2d(channels[j], channels[i], 3, stride: 2, padding: 1, bias: false)), ("1", nn.BatchNorm2d(channels[i])))
                            : Layers.ConvBnRelu(channels[j], channels[j], 3, stride: 2)));
                    }
                    row.Add(nn.Sequential(steps));
                }
            }
            fuse.Add(new ModuleList<nn.Module<Tensor, Tensor>>([.. row]));
        }
        fuse_layers = new ModuleList<ModuleList<nn.Module<Tensor, Tensor>>>([.. fuse]);
        RegisterComponents();
    }

    public Tensor[] Forward(Tensor[] x)
    {
        using var scope = NewDisposeScope();
        var y = branches.Select((b, i) => b.call(x[i])).ToArray();
        var outputs = new Tensor[y.Length];
        for (var i = 0; i < y.Length; i++)
        {
            var sum = y[i].clone();
            for (var j = 0; j < y.Length; j++)
            {
                if (j == i) continue;
                var z = fuse_layers[i][j].call(y[j]);
                sum = sum.PlusInPlace(j > i ? Layers.ResizeLike(z, y[i]) : z);
            }
            outputs[i] = sum.relu_().MoveToOuterDisposeScope();
        }
        return outputs;
    }

    /// <summary>Single-tensor entry for <see cref="nn.Module{T, TResult}"/>; a module with one branch.</summary>
    public override Tensor forward(Tensor x) => Forward([x])[0];

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            branches.Dispose(); fuse_layers.Dispose();
        }
        base.Dispose(disposing);
    }
}
