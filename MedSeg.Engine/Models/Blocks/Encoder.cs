using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Blocks;

/// <summary>A classification backbone used as a feature extractor: returns four feature maps, at strides 4, 8, 16 and 32
/// of the input when nothing is dilated (a dilated stage keeps the previous stride).</summary>
public abstract class Encoder(string name) : nn.Module<Tensor, Tensor[]>(name)
{
    /// <summary>Channels of the four returned feature maps.</summary>
    public abstract IReadOnlyList<int> OutChannels { get; }

    /// <summary>Total downsampling of the last feature map (32, or 16/8 when the last stages are dilated).</summary>
    public abstract int OutputStride { get; }
}
