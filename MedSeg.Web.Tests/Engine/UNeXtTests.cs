using MedSeg.Engine.Models;
using MedSeg.Engine.Models.UNeXt;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

public sealed class UNeXtTests
{
    /// <summary>The reference UNext (3 → 1) has 1,471,921 parameters (counted layer by layer from archs.py); the paper says 1.47 M.</summary>
    [Fact]
    public void UNeXtHas1471921ParametersForThreeToOne()
    {
        using var model = new UNeXt(new ModelOptions(3, 1));
        var count = model.ParameterCount();
        Assert.Equal(1_471_921, count);
        Assert.InRange(count, 1_470_000 * 0.97, 1_470_000 * 1.03);
    }

    [Fact]
    public void UNeXtIsCreatedByTheRegistry()
    {
        using var model = ModelRegistry.Create("unext", new ModelOptions(1, 2));
        Assert.IsType<UNeXt>(model);
        Assert.Equal(32, model.SizeMultiple);
    }

    [Fact]
    public void UNeXtStateDictUsesReferenceKeys()
    {
        using var model = new UNeXt(new ModelOptions());
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (var key in new[]
                 {
                     "encoder1.weight", "ebn1.running_mean", "patch_embed3.proj.weight", "patch_embed3.norm.weight",
                     "block1.0.norm2.weight", "block1.0.mlp.fc1.weight", "block1.0.mlp.dwconv.dwconv.weight",
                     "block1.0.mlp.fc2.bias", "norm3.weight", "dblock2.0.mlp.fc1.weight", "dnorm4.bias",
                     "decoder1.weight", "dbn1.weight", "decoder5.bias", "final.weight",
                 })
            Assert.Contains(key, keys);
    }

    [Theory]
    [InlineData(3, 1, 64, 64)]
    [InlineData(1, 3, 32, 96)]
    public void UNeXtForwardKeepsSpatialSizeAndGivesOneChannelPerClass(int inChannels, int classes, int h, int w)
    {
        using var model = new UNeXt(new ModelOptions(inChannels, classes));
        model.eval();
        using var _ = no_grad();
        using var x = randn(2, inChannels, h, w);
        using var y = model.call(x);
        Assert.Equal(new long[] { 2, classes, h, w }, y.shape);
        Assert.True(y.isfinite().all().item<bool>());
    }

    [Fact]
    public void UNeXtRefusesSizeNotMultipleOf32AndNamesNearestValidSize()
    {
        using var model = new UNeXt(new ModelOptions());
        using var x = randn(1, 3, 70, 64);
        var error = Assert.Throws<ArgumentException>(() => model.call(x));
        Assert.Contains("70×64", error.Message);
        Assert.Contains("64×64", error.Message);
    }

    [Fact]
    public void UNeXtSmallVariantIsSmallerAndUnknownVariantListsValidOnes()
    {
        using var small = new UNeXt(new ModelOptions(Variant: "s"));
        Assert.InRange(small.ParameterCount(), 100_000, 400_000);
        var error = Assert.Throws<ArgumentException>(() => new UNeXt(new ModelOptions(Variant: "xl")));
        Assert.Contains("default, s", error.Message);
    }

    [Fact]
    public void UNeXtBackwardReachesEveryParameter()
    {
        using var model = new UNeXt(new ModelOptions());
        model.train();
        using var x = randn(2, 3, 32, 32);
        using var y = model.call(x);
        using var loss = y.mean();
        loss.backward();
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.grad is not null, $"{p.name} has no gradient"));
    }

    /// <summary>TorchSharp's trunc_normal_ produced ±inf weights in about 2 % of models; the init must never do that.</summary>
    [Fact]
    public void UNeXtInitialisesOnlyFiniteWeights()
    {
        for (var i = 0; i < 15; i++)
        {
            using var model = new UNeXt(new ModelOptions());
            foreach (var (name, p) in model.named_parameters())
                Assert.True(p.isfinite().all().item<bool>(), $"model {i}: {name} has non-finite values");
        }
    }
}
