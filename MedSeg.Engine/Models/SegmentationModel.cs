using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models;

/// <summary>
/// Base of every zoo model: input (N, InChannels, H, W) → logits (N, Classes, H, W) at the input resolution.
/// Binary models (Classes == 1) return one logit channel (sigmoid); multi-class models return one channel per class.
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, Tensor>
{
    protected SegmentationModel(string name, ModelOptions options) : base(name)
    {
        if (options.InChannels < 1) throw new ArgumentOutOfRangeException(nameof(options), "InChannels must be at least 1.");
        if (options.Classes < 1) throw new ArgumentOutOfRangeException(nameof(options), "Classes must be at least 1.");
        Options = options;
    }

    public ModelOptions Options { get; }

    /// <summary>H and W must be multiples of this (the total downsampling of the encoder).</summary>
    public virtual int SizeMultiple => 32;

    /// <summary>
    /// The trainer feeds every model channels-last batches (NHWC memory, oneDNN's NHWC convolution kernels in forward and
    /// backward; <c>medseg bench</c>, docs/benchmarks.md "Lever effects": faster for every zoo model). This says whether it
    /// also converts the convolution weights to channels-last (the optimizer state follows them;
    /// checkpoints are written from contiguous copies, <c>Performance.SaveContiguous</c>, and read back into NCHW
    /// weights before the conversion). Worth it only where <c>medseg bench</c> shows it: UNeXt (train step −37 % against
    /// NCHW, −28 % against channels-last input alone); for the others it is within noise or slower (SegFormer).
    /// </summary>
    public virtual bool TrainsChannelsLastWeights => false;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the nearest valid size when H or W does not fit.</summary>
    public void CheckInputSize(long height, long width)
    {
        var m = SizeMultiple;
        if (height % m == 0 && width % m == 0 && height > 0 && width > 0) return;
        static long Nearest(long v, int m) => Math.Max(m, (long)Math.Round(v / (double)m) * m);
        throw new ArgumentException(
            $"{GetName()} needs height and width that are multiples of {m}; got {height}×{width}. " +
            $"The nearest valid size is {Nearest(height, m)}×{Nearest(width, m)} (pad or resize to it).");
    }

    /// <summary>Number of trainable and non-trainable parameters (buffers excluded).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
