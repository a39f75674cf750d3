using MedSeg.Engine.Models;
using TorchSharp;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The MAC counter: exact counts on hand-built models, and the published U-Net++ figure.</summary>
public sealed class ZooComplexityTests
{
    /// <summary>A model made of one layer, to check the counting formulas by hand.</summary>
    private sealed class Single : SegmentationModel
    {
        private readonly torch.nn.Module<torch.Tensor, torch.Tensor> layer;

        public Single(torch.nn.Module<torch.Tensor, torch.Tensor> layer) : base("Single", new ModelOptions())
        {
            this.layer = layer;
            RegisterComponents();
        }

        public override torch.Tensor forward(torch.Tensor input) => layer.call(input);

        protected override void Dispose(bool disposing)
        {
            if (disposing) layer.Dispose();
            base.Dispose(disposing);
        }
    }

    [Fact]
    public void ConvolutionMacsAreOutputsTimesKernelTimesInputChannels()
    {
        using var model = new Single(torch.nn.Conv2d(3, 8, 3, padding: 1));
        var c = Complexity.Measure(model, 3, 16, 16);
        Assert.Equal(8L * 16 * 16 * 3 * 9, c.Macs);
        Assert.Equal(8L * 3 * 9 + 8, c.Parameters);
    }

    [Fact]
    public void DepthwiseConvolutionMacsDivideByGroups()
    {
        using var model = new Single(torch.nn.Conv2d(8, 8, 3, padding: 1, groups: 8));
        Assert.Equal(8L * 16 * 16 * 9, Complexity.Measure(model, 8, 16, 16).Macs);
    }

    [Fact]
    public void TransposedConvolutionIsCountedLikeThop()
    {
        using var model = new Single(torch.nn.ConvTranspose2d(8, 4, 2, stride: 2));
        Assert.Equal(4L * 32 * 32 * 8 * 4, Complexity.Measure(model, 8, 16, 16).Macs);
    }

    [Fact]
    public void SegFormerCountIncludesAttentionMatmuls()
    {
        using var model = ModelRegistry.Create("segformer", new ModelOptions(Variant: "b0"));
        var c = Complexity.Measure(model, 3, 64, 64);
        // Stage 1 alone at 64×64: N = 256 tokens, M = 256 / 8² = 4 keys, C = 32, two blocks, Q·Kᵀ and A·V each.
        Assert.True(c.Macs > 2L * 2 * 256 * 4 * 32);
        Assert.True(c.GMacs < 1);
    }

    [Fact]
    public void UnetPlusPlusMacsMatchPaper()
    {
        using var model = ModelRegistry.Create("unetplusplus");
        var c = Complexity.Measure(model, 3, 256, 256);
        Assert.InRange(c.GMacs, 34.65 * 0.97, 34.65 * 1.03);
    }
}
