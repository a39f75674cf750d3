using MedSeg.Engine.Data.Pipeline;

namespace MedSeg.Web.Tests.Engine;

public sealed class PipelineAugmentationTests
{
    private const int S = 16;

    /// <summary>Two-channel image whose channel 0 is 0 except a marked pixel of 1 at (x, y); the mask marks the same pixel.</summary>
    private static (float[] Image, byte[] Mask) Marked(int x, int y)
    {
        var image = new float[2 * S * S];
        var mask = new byte[S * S];
        image[y * S + x] = 1;
        for (var i = 0; i < S * S; i++) image[S * S + i] = i; // channel 1: distinct values
        mask[y * S + x] = 1;
        return (image, mask);
    }

    private static (float[] Image, float[] Mask) Run(AugmentationOptions options, float[] image, byte[] mask, int seed, int channels = 2)
    {
        var outImage = new float[image.Length];
        var outMask = new float[mask.Length];
        new Augmenter(options).Apply(image, mask, channels, S, PipelineRandom.For(seed, 0, 0), outImage, outMask);
        return (outImage, outMask);
    }

    [Fact]
    public void PresetNamesParseAndUnknownNamesListThePresets()
    {
        Assert.Same(AugmentationOptions.Strong, AugmentationOptions.Parse("Strong"));
        Assert.Same(AugmentationOptions.Light, AugmentationOptions.Parse(" light "));
        Assert.Same(AugmentationOptions.None, AugmentationOptions.Parse("none"));
        var e = Assert.Throws<ArgumentException>(() => AugmentationOptions.Parse("heavy"));
        Assert.Contains("none, flips, light, strong", e.Message);
        Assert.Same(AugmentationOptions.Flips, AugmentationOptions.Parse("FLIPS"));
        Assert.Throws<ArgumentException>(() => new Augmenter(AugmentationOptions.Light with { FlipXProbability = 1.5 }));
        Assert.False(AugmentationOptions.Strong.ElasticProbability > 0);
    }

    [Fact]
    public void FlipXMovesImageAndMaskPixelTogether()
    {
        var (image, mask) = Marked(3, 1);
        var (outImage, outMask) = Run(new AugmentationOptions { FlipXProbability = 1 }, image, mask, seed: 1);
        Assert.Equal(1f, outImage[1 * S + (S - 1 - 3)]);
        Assert.Equal(1f, outMask[1 * S + (S - 1 - 3)]);
        Assert.Equal(1f, outImage.Take(S * S).Sum());
        Assert.Equal(1f, outMask.Sum());
    }

    [Fact]
    public void FlipsAndQuarterTurnsKeepImageAndMaskAlignedAndExact()
    {
        var options = new AugmentationOptions { FlipXProbability = 0.5, FlipYProbability = 0.5, Rotate90Probability = 1 };
        var (image, mask) = Marked(3, 1);
        var positions = new HashSet<int>();
        for (var seed = 0; seed < 40; seed++)
        {
            var (outImage, outMask) = Run(options, image, mask, seed);
            var at = Array.IndexOf(outMask, 1f);
            Assert.Equal(1f, outImage[at]);
            Assert.Equal(1f, outImage.Take(S * S).Sum());
            Assert.Equal(image.Skip(S * S).Order(), outImage.Skip(S * S).Order()); // a permutation: no interpolation
            positions.Add(at);
        }
        Assert.True(positions.Count >= 4, $"only {positions.Count} distinct placements");
        // Every placement is one of the 8 symmetries of (3, 1).
        int[] expected = [.. new[] { (3, 1), (12, 1), (3, 14), (12, 14), (1, 3), (14, 3), (1, 12), (14, 12) }.Select(p => p.Item2 * S + p.Item1)];
        Assert.All(positions, p => Assert.Contains(p, expected));
    }

    [Fact]
    public void MaskStaysBinaryAndFollowsTheImageUnderEveryTransform()
    {
        var all = AugmentationOptions.Strong with
        {
            ScaleProbability = 1, RotationProbability = 1, ElasticProbability = 1, ElasticAlpha = 2,
            BrightnessProbability = 0, ContrastProbability = 0, GammaProbability = 0, NoiseProbability = 0, BlurProbability = 0,
        };
        // Image channel 0 = mask (as float): after the same warp, the bilinear image thresholded at ½ ≈ the nearest mask.
        var mask = new byte[S * S];
        for (var y = 4; y < 12; y++) for (var x = 3; x < 10; x++) mask[y * S + x] = 1;
        var image = mask.Select(v => (float)v).ToArray();
        for (var seed = 0; seed < 20; seed++)
        {
            var (outImage, outMask) = Run(all, image, mask, seed, channels: 1);
            Assert.All(outMask, v => Assert.True(v is 0f or 1f));
            var agree = outImage.Zip(outMask).Count(p => (p.First >= 0.5f) == (p.Second == 1f));
            Assert.True(agree >= S * S * 0.93, $"seed {seed}: only {agree} of {S * S} pixels agree");
        }
    }

    [Fact]
    public void LabelMapKeepsItsLabelsUnderEveryTransform()
    {
        // Label 1 left, label 2 right; image channel 0 = the label (as float) so the two warps can be compared.
        var mask = new byte[S * S];
        for (var y = 4; y < 12; y++) for (var x = 2; x < 7; x++) mask[y * S + x] = 1;
        for (var y = 3; y < 13; y++) for (var x = 9; x < 14; x++) mask[y * S + x] = 2;
        var image = mask.Select(v => (float)v).ToArray();
        var warps = AugmentationOptions.Strong with
        {
            ScaleProbability = 1, RotationProbability = 1, ElasticProbability = 1, ElasticAlpha = 2,
            BrightnessProbability = 0, ContrastProbability = 0, GammaProbability = 0, NoiseProbability = 0, BlurProbability = 0,
        };
        foreach (var options in new[] { warps, warps with { Border = BorderMode.Edge }, AugmentationOptions.Light, AugmentationOptions.Flips })
            for (var seed = 0; seed < 10; seed++)
            {
                var (outImage, outMask) = Run(options, image, mask, seed, channels: 1);
                Assert.All(outMask, v => Assert.True(v is 0f or 1f or 2f, $"{v}"));
                Assert.Contains(1f, outMask);
                Assert.Contains(2f, outMask);
                var agree = outImage.Zip(outMask).Count(p => Math.Abs(p.First - p.Second) < 0.5f);
                Assert.True(agree >= S * S * 0.9, $"seed {seed}: only {agree} of {S * S} pixels agree");
            }
        // Pure flips and quarter turns permute the labels exactly.
        var (_, flipped) = Run(new AugmentationOptions { FlipXProbability = 1 }, image, mask, seed: 1, channels: 1);
        for (var y = 0; y < S; y++) for (var x = 0; x < S; x++) Assert.Equal(mask[y * S + S - 1 - x], flipped[y * S + x]);
    }

    [Fact]
    public void SameSeedSameResultAndIntensityTransformsRun()
    {
        var everything = AugmentationOptions.Strong with
        {
            ScaleProbability = 1, RotationProbability = 1, ElasticProbability = 1, BrightnessProbability = 1, ContrastProbability = 1,
            GammaProbability = 1, NoiseProbability = 1, BlurProbability = 1, Border = BorderMode.Edge,
        };
        var random = new Random(3);
        var image = Enumerable.Range(0, 2 * S * S).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        var mask = Enumerable.Range(0, S * S).Select(i => (byte)(i % 7 == 0 ? 1 : 0)).ToArray();
        var a = Run(everything, image, mask, seed: 5);
        var b = Run(everything, image, mask, seed: 5);
        var c = Run(everything, image, mask, seed: 6);
        Assert.Equal(a.Image, b.Image);
        Assert.Equal(a.Mask, b.Mask);
        Assert.NotEqual(a.Image, c.Image);
        Assert.All(a.Image, v => Assert.True(float.IsFinite(v)));
        var none = Run(AugmentationOptions.None, image, mask, seed: 5);
        Assert.Equal(image, none.Image);
        Assert.Equal(mask.Select(v => (float)v), none.Mask);
    }

    [Fact]
    public void CustomSpecsOverrideAPresetAndNameWhatIsWrong()
    {
        var custom = AugmentationOptions.Parse(" Strong , elasticprobability=0.25, RotationDegrees=45 ,border=edge");
        Assert.Equal(0.25, custom.ElasticProbability);
        Assert.Equal(45, custom.RotationDegrees);
        Assert.Equal(BorderMode.Edge, custom.Border);
        Assert.Equal(AugmentationOptions.Strong.GammaProbability, custom.GammaProbability); // the rest is the preset's
        Assert.Equal("strong, ElasticProbability=0.25, RotationDegrees=45, Border=Edge", custom.Name);
        Assert.Equal(custom, AugmentationOptions.Parse(custom.Name)); // the name parses back to the same record

        var fromNone = AugmentationOptions.Parse("FlipXProbability=0.5");
        Assert.Equal(0.5, fromNone.FlipXProbability);
        Assert.Equal(0, fromNone.FlipYProbability);

        Assert.Contains("Keys:", Assert.Throws<ArgumentException>(() => AugmentationOptions.Parse("strong, Elastic=0.2")).Message);
        Assert.Contains("needs a number", Assert.Throws<ArgumentException>(() => AugmentationOptions.Parse("strong, ElasticProbability=lots")).Message);
        Assert.Contains("within [0, 1]", Assert.Throws<ArgumentException>(() => AugmentationOptions.Parse("light, NoiseProbability=2")).Message);
        Assert.Contains("Presets:", Assert.Throws<ArgumentException>(() => AugmentationOptions.Parse("heavy, NoiseProbability=0.1")).Message);

        var json = AugmentationOptions.FromJson("""{ "flipXProbability": 0.5, "ElasticProbability": 0.1, "ElasticAlpha": 4 }""");
        Assert.Equal(("custom", 0.5, 0.1, 4.0), (json.Name, json.FlipXProbability, json.ElasticProbability, json.ElasticAlpha));
        Assert.Contains("not valid", Assert.Throws<ArgumentException>(() => AugmentationOptions.FromJson("""{ "Flip": 1 }""")).Message);
    }

    [Fact]
    public void GaussianNoiseIsFiniteForUniformDrawsNextToOne()
    {
        // The largest double below 1 rounds to 1f in single precision: the old float Box–Muller took log(0) there and
        // wrote NaN into the image (a Kvasir-SEG run met it in epoch 7 with the strong preset).
        var u = Math.BitDecrement(1.0);
        Assert.Equal(1f, (float)u);
        var (a, b) = Augmenter.GaussianPair(u, 0.0);
        Assert.True(float.IsFinite(a) && float.IsFinite(b));
        Assert.InRange(a, 8.5f, 8.6f); // sqrt(−2·ln 2⁻⁵³): the far tail, not a clamp
        Assert.Equal((0f, 0f), Augmenter.GaussianPair(0, 0.7));

        var random = new Random(5);
        double sum = 0, squares = 0;
        const int n = 100_000;
        for (var i = 0; i < n; i++)
        {
            var (x, y) = Augmenter.GaussianPair(random.NextDouble(), random.NextDouble());
            sum += x + y;
            squares += x * x + y * y;
        }
        Assert.InRange(sum / (2 * n), -0.01, 0.01);
        Assert.InRange(squares / (2 * n), 0.98, 1.02);
    }

    [Fact]
    public void PipelineRandomIsAPureFunction()
    {
        Assert.Equal(PipelineRandom.Hash(1, 2, 3), PipelineRandom.Hash(1, 2, 3));
        Assert.NotEqual(PipelineRandom.Hash(1, 2, 3), PipelineRandom.Hash(1, 3, 2));
        Assert.NotEqual(PipelineRandom.Hash(1, 2, 3), PipelineRandom.Hash(2, 2, 3));
        Assert.Equal(PipelineRandom.For(7, 1, 4).Next(), PipelineRandom.For(7, 1, 4).Next());
        var order = PipelineRandom.EpochOrder(7, 3, 50);
        Assert.Equal(Enumerable.Range(0, 50), order.Order());
        Assert.Equal(order, PipelineRandom.EpochOrder(7, 3, 50));
        Assert.NotEqual(order, PipelineRandom.EpochOrder(7, 4, 50));
    }
}
