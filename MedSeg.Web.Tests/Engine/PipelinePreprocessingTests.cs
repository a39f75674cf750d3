using System.Text.Json;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Training;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

public sealed class PipelinePreprocessingTests
{
    private static Raster Grey(int w, int h, params float[] values) => new(w, h, 1, values, sixteenBitOrMore: true, lossy: false);

    [Theory]
    [InlineData("deep.png")]
    [InlineData("deep.tif")]
    public void SixteenBitImagesReachFloatWithoutEightBitTruncation(string file)
    {
        using var dir = new TempDir();
        var values = new ushort[] { 0, 1, 2, 3, 256, 257, 65534, 65535 };
        using (var image = NetVips.Image.NewFromMemory(values, 4, 2, 1, NetVips.Enums.BandFormat.Ushort))
        using (var grey16 = image.Copy(interpretation: NetVips.Enums.Interpretation.Grey16))
            grey16.WriteToFile(dir[file]); // PNG: 16-bit because the interpretation is grey16
        var raster = ImageDecoder.DecodeFile(dir[file]);
        Assert.True(raster.SixteenBitOrMore);
        Assert.Equal(values.Select(v => (float)v), raster.Pixels);
        var prepared = Preprocessing.Prepare(raster, 4, 1, new PreprocessingOptions(Normalization: IntensityNormalization.None));
        // No resize along x (4 → 4) but y is 2 → 4: rows repeat, so the low-end differences of 1 survive.
        Assert.Equal([0f, 1f, 2f, 3f], prepared.Pixels[..4]);
    }

    [Fact]
    public void DefaultOptionsAreTodaysPipeline()
    {
        var raster = Grey(2, 2, 0, 100, 200, 300);
        var today = Preprocessing.Prepare(raster, 2, 1);
        var explicitDefault = Preprocessing.Prepare(raster, 2, 1, PreprocessingOptions.Default);
        Assert.Equal(today.Pixels, explicitDefault.Pixels);
        Assert.Equal(0, today.Pixels.Average(), 5);
        Assert.Equal(-150 / Math.Sqrt(12500), today.Pixels[0], 4);
        Assert.Same(Preprocessing.Normalization, Preprocessing.Describe(PreprocessingOptions.Default));
        Assert.Equal(LetterboxGeometry.Stretched(2, 2, 2), today.Geometry);
    }

    [Theory]
    [InlineData("none", new[] { 0f, 100f, 200f, 300f })]
    [InlineData("dataset", new[] { -2f, 0f, 2f, 4f })]
    [InlineData("window", new[] { 0f, 0.25f, 0.75f, 1f })]
    [InlineData("window-zscore", new[] { -1f, -0.5f, 0.5f, 1f })]
    public void NormalizationModesGiveHandComputedValues(string mode, float[] expected)
    {
        var n = mode switch
        {
            "none" => IntensityNormalization.None,
            "dataset" => IntensityNormalization.DatasetZScore([100], [50]),
            "window" => IntensityNormalization.Window([50], [250]),
            _ => IntensityNormalization.WindowZScore([50], [250], [150], [100]),
        };
        var prepared = Preprocessing.Prepare(Grey(2, 2, 0, 100, 200, 300), 2, 1, new PreprocessingOptions(Normalization: n));
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], prepared.Pixels[i], 5);
    }

    [Fact]
    public void NormalizationIsValidatedAndSerializable()
    {
        Assert.Throws<ArgumentException>(() => Preprocessing.Prepare(Grey(2, 2, 0, 1, 2, 3), 2, 1,
            new PreprocessingOptions(Normalization: new IntensityNormalization(NormalizationMode.DatasetZScore))));
        Assert.Throws<ArgumentException>(() => IntensityNormalization.Window([5], [5]).Validate());

        var options = new PreprocessingOptions(ResizePolicy.Letterbox, IntensityNormalization.WindowZScore([-100], [300], [40], [80]));
        var json = JsonSerializer.Serialize(options);
        Assert.Contains("\"Letterbox\"", json);
        Assert.Contains("\"CtWindow\"", json);
        var back = JsonSerializer.Deserialize<PreprocessingOptions>(json)!;
        Assert.Equal(options.Resize, back.Resize);
        Assert.Equal(options.Normalization!.Mode, back.Normalization!.Mode);
        Assert.Equal(options.Normalization.Low, back.Normalization.Low);
        Assert.Equal(options.Normalization.Std, back.Normalization.Std);
        Assert.Equal("window-zscore", Preprocessing.Describe(options).Method);
    }

    [Fact]
    public void LetterboxKeepsAspectAndPadsWithNormalizedZero()
    {
        var g = LetterboxGeometry.For(40, 20, 80);
        Assert.Equal(new LetterboxGeometry(40, 20, 80, 80, 40, 0, 20), g);
        var pixels = Enumerable.Range(0, 40 * 20).Select(i => (float)(i % 40)).ToArray();
        var prepared = Preprocessing.Prepare(new Raster(40, 20, 1, pixels, false, false), 80, 1, new PreprocessingOptions(ResizePolicy.Letterbox));
        Assert.Equal(g, prepared.Geometry);
        Assert.All(prepared.Pixels[..(20 * 80)], v => Assert.Equal(0f, v));          // top padding
        Assert.All(prepared.Pixels[(60 * 80)..], v => Assert.Equal(0f, v));          // bottom padding
        var content = prepared.Pixels[(20 * 80)..(60 * 80)];
        Assert.Equal(0, content.Average(), 4);                                       // z-scored over the content only
        Assert.Equal(1, Math.Sqrt(content.Select(v => (double)v * v).Average()), 3);
    }

    [Theory]
    [InlineData(40, 20, 80, 1.0)]     // integer scale: exact
    [InlineData(50, 30, 64, 0.97)]    // non-integer scale: nearest in, bilinear out
    [InlineData(24, 60, 32, 0.85)]    // portrait, downscale
    public void LetterboxRoundTripRestoresTheMask(int w, int h, int size, double minimumDice)
    {
        using var dir = new TempDir();
        var mask = new byte[w * h];
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
            mask[y * w + x] = (x - w * 0.4) * (x - w * 0.4) + (y - h * 0.55) * (y - h * 0.55) <= Math.Pow(Math.Min(w, h) * 0.3, 2) ? (byte)1 : (byte)0;
        SyntheticData.WriteMask(dir["m.png"], mask, w, h);
        var (square, ow, oh) = Preprocessing.LoadMask(dir["m.png"], size, ResizePolicy.Letterbox);
        Assert.Equal((w, h), (ow, oh));
        var g = LetterboxGeometry.For(w, h, size);
        using var p = tensor(square.Select(v => (float)v).ToArray(), [size, size]);
        var back = Preprocessing.ToOriginalSize(p, g, 0.5);
        Assert.Equal(w * h, back.Length);
        int tp = 0, total = 0;
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] != 0 && back[i] != 0) tp++;
            total += mask[i] + back[i];
        }
        var dice = 2.0 * tp / total;
        if (minimumDice >= 1) Assert.Equal(mask, back);
        else Assert.True(dice >= minimumDice, $"round-trip Dice {dice:F3}");
    }

    [Fact]
    public void FingerprintOfAHandMadeDataset()
    {
        using var dir = new TempDir();
        // A: 8×4, left half 200 (foreground), right half 10. B: 4×4 all 10 but one foreground pixel of 200.
        var a = new byte[32];
        var am = new byte[32];
        for (var i = 0; i < 32; i++) (a[i], am[i]) = i % 8 < 4 ? ((byte)200, (byte)1) : ((byte)10, (byte)0);
        var b = Enumerable.Repeat((byte)10, 16).ToArray();
        var bm = new byte[16];
        (b[5], bm[5]) = (200, 1);
        SyntheticData.Write(dir["images/a.png"], a, 8, 4, 1);
        SyntheticData.WriteMask(dir["masks/a.png"], am, 8, 4);
        SyntheticData.Write(dir["images/b.png"], b, 4, 4, 1);
        SyntheticData.WriteMask(dir["masks/b.png"], bm, 4, 4);
        var cases = new List<TrainingCase> { new("a", dir["images/a.png"], dir["masks/a.png"]), new("b", dir["images/b.png"], dir["masks/b.png"]) };

        var f = DatasetFingerprint.Compute(cases, sampleLimit: 2000);
        Assert.Equal(2, f.Cases);
        Assert.Equal(new SizeStatistics(4, 8, 8), f.Width);
        Assert.Equal(new SizeStatistics(4, 4, 4), f.Height);
        Assert.Equal(1, f.Channels);
        Assert.False(f.SixteenBitOrMore);
        var c = Assert.Single(f.Intensity);
        var mean = (17 * 200 + 31 * 10) / 48.0;
        Assert.Equal(mean, c.Mean, 9);
        Assert.Equal(Math.Sqrt((17 * 200.0 * 200 + 31 * 100) / 48 - mean * mean), c.Std, 9);
        Assert.Equal(200, c.ForegroundMean, 9);
        Assert.Equal(0, c.ForegroundStd, 9);
        Assert.Equal((10.0, 200.0), (c.Percentile005, c.Percentile995));
        Assert.Equal((200.0, 200.0), (c.ForegroundPercentile005, c.ForegroundPercentile995));
        Assert.Equal((0.5 + 1 / 16.0) / 2, f.ForegroundFractionMean, 9);
        Assert.Equal((1 / 16.0, 0.5), (f.ForegroundFractionMin, f.ForegroundFractionMax));
        Assert.True(f.SampledPixels <= 2000);
        Assert.Equal(f, DatasetFingerprint.Compute(cases, sampleLimit: 2000) with { Intensity = f.Intensity, LabelPixelShare = f.LabelPixelShare }); // deterministic
        Assert.Equal(c, DatasetFingerprint.Compute(cases, sampleLimit: 2000).Intensity[0]);

        var s = f.Suggest();
        Assert.Equal(32, s.ImageSize);
        Assert.Equal(NormalizationMode.PerImageZScore, s.Normalization.Mode);
        Assert.Equal([c.Mean], f.DatasetZScore().Mean);
        Assert.Equal(3, DatasetFingerprint.Compute(cases, 2000, channels: 3).Intensity.Count);
    }

    [Fact]
    public void SuggestionForCtLikeAndKvasirLikeFingerprints()
    {
        var ct = new DatasetFingerprint(100, new(512, 512, 512), new(512, 512, 512), 1, true,
            [new ChannelStatistics(0, -500, 400, -1024, 1500, 40, 60, -80, 220)], 0.1, 0.01, 0.3, 1000);
        var s = ct.Suggest(memoryBudgetBytes: 4L << 30);
        Assert.Equal(512, s.ImageSize);
        Assert.Equal(8, s.BatchSize);
        Assert.Equal(NormalizationMode.CtWindow, s.Normalization.Mode);
        Assert.Equal([-80.0], s.Normalization.Low);
        Assert.Equal([220.0], s.Normalization.High);
        Assert.Equal([40.0], s.Normalization.Mean);
        var rgb = ct with { Width = new(332, 622, 1920), Height = new(352, 529, 1072), Channels = 3, SixteenBitOrMore = false };
        var k = rgb.Suggest(maxSize: 384);
        Assert.Equal((384, ResizePolicy.Stretch, NormalizationMode.PerImageZScore), (k.ImageSize, k.Resize, k.Normalization.Mode));
        Assert.Equal(ResizePolicy.Letterbox, (rgb with { Width = new(1000, 1000, 1000), Height = new(500, 500, 500) }).Suggest().Resize);
    }
}
