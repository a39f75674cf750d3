using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>One theory over every registered architecture (small variants at 64×64 on CPU), plus parameter counts of the
/// full-size defaults against the published figures.</summary>
public sealed class ModelZooTests
{
    private const int Size = 64;

    /// <summary>The variant each architecture is exercised with on CPU: its lightest one.</summary>
    private static readonly Dictionary<string, string> LightVariants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["unet"] = "small",
        ["unetplusplus"] = "small",
        ["segformer"] = "b0",
        ["pspnet"] = "resnet18",
        ["hrnet"] = "w18_small_v1",
        ["deeplabv3plus"] = "mobilenetv2",
    };

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var name in ModelRegistry.Names) data.Add(name);
        return data;
    }

    private static SegmentationModel CreateLight(string name, int inChannels = 3, int classes = 2) =>
        ModelRegistry.Create(name, new ModelOptions(inChannels, classes, LightVariants.GetValueOrDefault(name)));

    /// <summary>True when the architecture is still a placeholder whose forward throws
    /// <see cref="NotSupportedException"/> (UNeXt until its implementation is merged).</summary>
    private static bool IsPlaceholder(SegmentationModel model)
    {
        try
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            model.eval();
            model.call(torch.zeros(1, model.Options.InChannels, Size, Size));
            return false;
        }
        catch (NotSupportedException)
        {
            return true;
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ModelSatisfiesZooContract(string name)
    {
        using var model = CreateLight(name, inChannels: 1, classes: 2);
        if (IsPlaceholder(model)) return;

        // Forward: logits at the input resolution, one channel per class.
        model.eval();
        using (torch.no_grad())
        using (torch.NewDisposeScope())
        {
            var y = model.call(torch.randn(2, 1, Size, Size));
            Assert.Equal(new long[] { 2, 2, Size, Size }, y.shape);
            Assert.False(y.isnan().any().item<bool>());
        }

        // A size that does not fit the output stride is refused, naming the nearest valid size.
        var error = Assert.Throws<ArgumentException>(() =>
        {
            using var scope = torch.NewDisposeScope();
            model.call(torch.zeros(1, 1, Size + 1, Size + 1));
        });
        Assert.Contains($"{Size}×{Size}", error.Message);

        // Backward gives a gradient to every trainable parameter; a training step leaves no tensor alive.
        model.train();
        using var optimizer = torch.optim.SGD(model.parameters(), 0.01);
        TrainingStep(model, optimizer); // warm-up: optimizer state and caches are created once
        var liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        TrainingStep(model, optimizer);
        Assert.Equal(liveBefore, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        var withoutGrad = model.named_parameters().Where(p => p.parameter.requires_grad && p.parameter.grad is null).Select(p => p.name).ToList();
        Assert.Empty(withoutGrad);
        Assert.Contains(model.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
    }

    private static void TrainingStep(SegmentationModel model, torch.optim.Optimizer optimizer)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        var x = torch.randn(2, 1, Size, Size);
        var target = torch.randint(0, 2, [2, Size, Size], dtype: ScalarType.Int64);
        var loss = nn.functional.cross_entropy(model.call(x), target);
        loss.backward();
        optimizer.step();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void ChannelsLastBatchesOnlyChangeTheMemoryLayout(string name)
    {
        // The trainer feeds every model channels-last batches (here with NCHW weights): the logits,
        // and every weight gradient must match the NCHW computation (only the summation order differs; a layout mistake
        // would differ by O(1)).
        torch.manual_seed(3);
        using var model = CreateLight(name, inChannels: 3, classes: 1);
        if (IsPlaceholder(model)) return;
        model.to(ScalarType.Float64); // in double the two summation orders agree to ~1e-10, so a tight bound still holds
        model.train();
        foreach (var m in model.modules().Where(m => m.GetType().Name.Contains("Drop", StringComparison.Ordinal))) m.eval(); // no random masks
        using var scope = torch.NewDisposeScope();
        var x = torch.randn(2, 3, Size, Size, dtype: ScalarType.Float64, generator: new torch.Generator(5));
        var target = torch.rand(2, 1, Size, Size, generator: new torch.Generator(6)).gt(0.5).to(ScalarType.Float64);
        (Tensor Logits, Dictionary<string, Tensor> Grads) Step(Tensor input)
        {
            model.zero_grad();
            var logits = model.call(input);
            nn.functional.binary_cross_entropy_with_logits(logits, target).backward();
            return (logits.detach().contiguous(), model.named_parameters().Where(p => p.parameter.grad is not null)
                .ToDictionary(p => p.name, p => p.parameter.grad!.detach().contiguous().clone()));
        }
        var (nchw, nchwGrads) = Step(x);
        var cl = MedSeg.Engine.Training.Performance.ToChannelsLast(x);
        Assert.True(MedSeg.Engine.Training.Performance.IsChannelsLast(cl));
        var (nhwc, nhwcGrads) = Step(cl);
        Assert.True(nchw.allclose(nhwc, rtol: 1e-6, atol: 1e-6), $"{name}: logits differ by {(nchw - nhwc).abs().max().item<double>()}");
        Assert.Equal(nchwGrads.Keys.Order(), nhwcGrads.Keys.Order());
        foreach (var (key, g) in nchwGrads)
        {
            var norm = g.norm().item<double>();
            if (norm < 1e-9) continue;
            var relative = (g - nhwcGrads[key]).norm().item<double>() / norm;
            Assert.True(relative <= 1e-6, $"{name}: gradient of {key} differs by {relative:P2} of its norm");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SameSeedGivesSameOutput(string name)
    {
        Tensor Run()
        {
            torch.manual_seed(1234);
            using var model = CreateLight(name, inChannels: 3, classes: 1);
            model.eval();
            using var noGrad = torch.no_grad();
            using var x = torch.rand(1, 3, Size, Size, generator: new torch.Generator(7));
            return model.call(x);
        }

        using var probe = CreateLight(name);
        if (IsPlaceholder(probe)) return;
        using var a = Run();
        using var b = Run();
        Assert.Equal(new long[] { 1, 1, Size, Size }, a.shape);
        Assert.True(a.eq(b).all().item<bool>(), $"{name}: two runs with the same seed differ");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void UnknownVariantListsValidOnes(string name)
    {
        using var model = ModelRegistry.Create(name);
        if (model is not IVariantModel variants) return;
        Assert.Equal(variants.AvailableVariants[0], variants.Variant);
        var error = Assert.Throws<ArgumentException>(() => ModelRegistry.Create(name, new ModelOptions(Variant: "no-such-variant")));
        foreach (var v in variants.AvailableVariants) Assert.Contains(v, error.Message);
    }

    private static void AssertParameters(string name, string? variant, double referenceMillions, int inChannels = 3, int classes = 1)
    {
        using var model = ModelRegistry.Create(name, new ModelOptions(inChannels, classes, variant));
        var millions = model.ParameterCount() / 1e6;
        Assert.True(Math.Abs(millions - referenceMillions) <= 0.03 * referenceMillions,
            $"{name} {variant ?? "(default)"}: {millions:F3} M parameters, reference {referenceMillions} M");
    }

    [Fact]
    public void UnetParameterCountMatchesPaper() => AssertParameters("unet", null, 31.1);

    [Fact]
    public void UnetPlusPlusParameterCountMatchesPaper() => AssertParameters("unetplusplus", null, 9.16);

    [Fact]
    public void SegFormerB0ParameterCountMatchesPaper() => AssertParameters("segformer", "b0", 3.8, classes: 150);

    [Fact]
    public void SegFormerB1ParameterCountMatchesPaper() => AssertParameters("segformer", "b1", 13.7, classes: 150);

    [Fact]
    public void SegFormerB2ParameterCountMatchesPaper() => AssertParameters("segformer", "b2", 27.5, classes: 150);

    [Fact]
    public void HrnetSmallV1ParameterCountMatchesPaper() => AssertParameters("hrnet", "w18_small_v1", 1.5);

    [Fact]
    public void HrnetSmallV2ParameterCountMatchesPaper() => AssertParameters("hrnet", "w18_small_v2", 3.9);

    [Fact]
    public void HrnetW18ParameterCountMatchesPaper() => AssertParameters("hrnet", "w18", 9.6);

    [Fact]
    public void PspnetResNet50ParameterCountIsInPublishedRange()
    {
        using var model = ModelRegistry.Create("pspnet");
        Assert.InRange(model.ParameterCount() / 1e6, 46.0, 49.0);
    }

    [Fact]
    public void DeepLabV3PlusResNet50ParameterCountIsInPublishedRange()
    {
        using var model = ModelRegistry.Create("deeplabv3plus");
        Assert.InRange(model.ParameterCount() / 1e6, 26.0, 41.0);
    }
}
