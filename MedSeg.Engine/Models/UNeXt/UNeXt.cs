using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>Placeholder replaced by the engine work in this same change series.</summary>
public sealed class UNeXt : SegmentationModel
{
    public UNeXt(ModelOptions options) : base("UNeXt", options) => RegisterComponents();

    public override Tensor forward(Tensor input) => throw new NotSupportedException("UNeXt is being implemented.");
}
