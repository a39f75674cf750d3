using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.UNeXt;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Inference building blocks: BatchNorm folding and the UNeXt fast path, sliding windows, flip TTA, largest component.</summary>
public sealed class InferenceTests
{
    private static void RandomiseBatchNorm(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var (_, m) in model.named_modules())
            if (m is TorchSharp.Modules.BatchNorm2d bn)
            {
                bn.running_mean!.copy_(randn_like(bn.running_mean) * 0.2);
                bn.running_var!.copy_(rand_like(bn.running_var) + 0.5);
                bn.weight!.copy_(rand_like(bn.weight) + 0.5);
                bn.bias!.copy_(randn_like(bn.bias) * 0.2);
            }
    }

    private static float MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Fact]
    public void FastPathAndFoldedModuleEqualTheUnfoldedUNeXt()
    {
        manual_seed(3);
        using var model = new UNeXt(new ModelOptions(3, 1, "s"));
        RandomiseBatchNorm(model);
        model.eval();
        using var x = randn(2, 3, 64, 64);
        using var _ = inference_mode();
        using var expected = model.call(x);
        using (var all = new UNeXtFastPath(model))
        using (var actual = all.Forward(x))
            Assert.True(MaxDiff(expected, actual) < 1e-4, $"all levers differ by {MaxDiff(expected, actual)}");
        foreach (var levers in new[] { FastPathLevers.None, FastPathLevers.None with { SliceShift = true }, FastPathLevers.None with { ChannelsLast = true } })
        {
            using var path = new UNeXtFastPath(model, levers);
            using var actual = path.Forward(x);
            Assert.True(MaxDiff(expected, actual) < 1e-4, $"{levers} differs by {MaxDiff(expected, actual)}");
        }

        using var folded = new UNeXt(new ModelOptions(3, 1, "s"));
        folded.load_state_dict(model.state_dict());
        var pairs = BatchNormFolding.Fold(folded);
        Assert.Equal(7, pairs.Count);
        Assert.Contains("encoder1 → ebn1", pairs);
        Assert.Contains("decoder4 → dbn4", pairs);
        using var foldedOut = folded.call(x);
        Assert.True(MaxDiff(expected, foldedOut) < 1e-4, $"folded module differs by {MaxDiff(expected, foldedOut)}");
    }

    [Fact]
    public void FoldHandlesSequentialConvBatchNormWithoutBias()
    {
        manual_seed(4);
        using var seq = nn.Sequential(("0", nn.Conv2d(3, 8, 3, padding: 1, bias: false)), ("1", nn.BatchNorm2d(8)), ("2", nn.ReLU()));
        RandomiseBatchNorm(seq);
        seq.eval();
        using var x = randn(1, 3, 16, 16);
        using var _ = no_grad();
        using var expected = seq.call(x);
        Assert.Equal(["0 → 1"], BatchNormFolding.Fold(seq));
        using var actual = seq.call(x);
        Assert.True(MaxDiff(expected, actual) < 1e-5);
    }

    /// <summary>A fully convolutional model (receptive field 5×5): away from the windows' borders a window sees what the
    /// whole image sees, and the Gaussian weights make the border pixels of a window count for almost nothing.</summary>
    [Fact]
    public void SlidingWindowReproducesTheFullImagePredictionAwayFromBorders()
    {
        manual_seed(5);
        using var net = nn.Sequential(nn.Conv2d(1, 4, 3, padding: 1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding: 1));
        using var _ = inference_mode();
        Tensor Probabilities(Tensor t) => net.call(t).sigmoid();
        const int tile = 32;
        using var image = randn(1, 1, 80, 88); // 2.5 × 2.75 tiles
        using var full = Probabilities(image);
        using var windows = SlidingWindow.Predict(image, tile, Probabilities, batchSize: 3);
        Assert.Equal(full.shape, windows.shape);
        using var inner = (full - windows).narrow(2, 2, 76).narrow(3, 2, 84).abs().max();
        Assert.True(inner.item<float>() < 2e-3, $"max difference away from borders {inner.item<float>()}");
        Assert.Equal([0L, 16, 32, 48], SlidingWindow.Steps(80, tile));
        Assert.Equal([0L], SlidingWindow.Steps(20, tile));
        using var small = SlidingWindow.Predict(randn(1, 1, 20, 24), tile, Probabilities);
        Assert.Equal([1L, 1, 20, 24], small.shape);
    }

    [Fact]
    public void FlipTtaOfAFlipEquivariantModelGivesTheSameMask()
    {
        manual_seed(6);
        using var conv = nn.Conv2d(1, 1, 3, padding: 1);
        using (no_grad())
        {
            // Kernel symmetric under both flips: the model commutes with h, v and hv flips.
            conv.weight!.copy_(tensor(new float[] { 0.1f, -0.4f, 0.1f, 0.3f, 1.0f, 0.3f, 0.1f, -0.4f, 0.1f }).reshape(1, 1, 3, 3));
        }
        using var _ = inference_mode();
        Tensor Probabilities(Tensor t) => conv.call(t).sigmoid();
        using var x = randn(2, 1, 24, 20);
        using var plain = Probabilities(x);
        using var tta = TestTimeAugmentation.Apply(x, Probabilities);
        Assert.True(MaxDiff(plain, tta) < 1e-5);
        Assert.Equal(0, plain.ge(0.5).ne(tta.ge(0.5)).sum().item<long>());
    }

    [Fact]
    public void LargestComponentRemovesASmallIslandAndKeepsDiagonalNeighbours()
    {
        const int w = 10, h = 8;
        var mask = new byte[w * h];
        void Set(int y, int x, byte v = 1) => mask[y * w + x] = v;
        for (var y = 1; y < 4; y++) for (var x = 1; x < 4; x++) Set(y, x); // 9 pixels
        Set(4, 4);                                                          // diagonal neighbour: same component (8-connected)
        Set(6, 8); Set(6, 9);                                               // island of 2
        Set(0, 9, 2);                                                       // a second class keeps its own largest component
        Postprocessing.KeepLargestComponent(mask, w, h);
        Assert.Equal(10, mask.Count(v => v == 1));
        Assert.Equal(1, mask[4 * w + 4]);
        Assert.Equal(0, mask[6 * w + 8]);
        Assert.Equal(2, mask[0 * w + 9]);
    }
}
