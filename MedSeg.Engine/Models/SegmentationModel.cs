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
    /// Whether the trainer feeds this model channels-last batches (NHWC memory, oneDNN's NHWC convolution kernels in
    /// forward and backward; the weights stay NCHW so checkpoints keep working, see <c>Training.Performance</c>).
    /// Measured per model by <c>medseg bench</c> (docs/benchmarks.md, "Lever effects"): a channels-last batch makes the
    /// train step of every convolutional zoo model 8–72 % faster; models for which it is slower override this.
    /// </summary>
    public virtual bool TrainsChannelsLast => true;

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
