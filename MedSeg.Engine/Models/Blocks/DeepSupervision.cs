using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Blocks;

/// <summary>A model that can put its loss on several heads while training (<see cref="ModelOptions.DeepSupervision"/>). The
/// trainer wraps its loss in <see cref="Losses.DeepSupervisionLoss"/> over <see cref="ForwardHeads"/>; <c>forward</c> stays
/// the prediction (e.g. UNet++ averages its heads).</summary>
public interface IDeepSupervised
{
    bool DeepSupervision { get; }

    /// <summary>How many tensors <see cref="ForwardHeads"/> returns.</summary>
    int HeadCount { get; }

    /// <summary>Every head's logits at the input's size, the finest-level head first.</summary>
    IReadOnlyList<Tensor> ForwardHeads(Tensor input);
}
