using MedSeg.Engine.Data;

namespace MedSeg.Web.Tests.Engine;

public sealed class ColourMaskMapperTests
{
    private static Raster Rgb(params (byte R, byte G, byte B)[] pixels) =>
        new(pixels.Length, 1, 3, [.. pixels.SelectMany(p => new float[] { p.R, p.G, p.B })], sixteenBitOrMore: false, lossy: false);

    [Fact]
    public void ColourMaskColoursAreListedAndMappedBlackFirstThenSorted()
    {
        var a = Rgb((0, 0, 0), (255, 0, 0), (0, 0, 255));
        var b = Rgb((0, 255, 0), (0, 0, 0), (255, 0, 0));
        Assert.True(ColourMaskMapper.HasColour(a));
        var table = ColourMaskMapper.Table([ColourMaskMapper.Colours(a).Colours!, ColourMaskMapper.Colours(b).Colours!]);
        Assert.Equal(["#000000", "#0000ff", "#00ff00", "#ff0000"], table.Select(ColourMaskMapper.Hex));
        Assert.Equal([0, 3, 1], ColourMaskMapper.Map(a, table).Labels!); // one colour one label, in every file
        Assert.Equal([2, 0, 3], ColourMaskMapper.Map(b, table).Labels!);
    }

    [Fact]
    public void ColourMaskWithManyColoursIsRefusedAsAntiAliased()
    {
        var smooth = Rgb([.. Enumerable.Range(0, 40).Select(i => ((byte)(i * 6), (byte)0, (byte)0))]);
        var (colours, problem) = ColourMaskMapper.Colours(smooth);
        Assert.Null(colours);
        Assert.Contains("more than 32 distinct colours", problem);
        Assert.Contains("nearest-neighbour", problem);
    }

    [Fact]
    public void ColourMaskWithAColourOutsideTheTableNamesIt()
    {
        var (labels, unknown) = ColourMaskMapper.Map(Rgb((0, 0, 0), (1, 2, 3)), [0, 0xff0000]);
        Assert.Null(labels);
        Assert.Equal("#010203", ColourMaskMapper.Hex(unknown!.Value));
        Assert.False(ColourMaskMapper.HasColour(Rgb((7, 7, 7), (0, 0, 0))));
    }

    [Fact]
    public void ColourMaskScanMapsEveryFileAndKeepsTheColoursOfTheLabels()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["data/images"]);
        Directory.CreateDirectory(dir["data/masks"]);
        for (var i = 0; i < 2; i++)
        {
            var (image, _) = SyntheticData.Disc(8, 8, i);
            SyntheticData.Write(dir[$"data/images/c{i}.png"], image, 8, 8, 3);
            var rgb = new byte[8 * 8 * 3];
            for (var p = 0; p < 64; p++)
            {
                var (r, g, b) = p % 8 < 3 ? (255, 0, 0) : p % 8 > 5 && i == 0 ? (0, 128, 0) : (0, 0, 0);
                (rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]) = ((byte)r, (byte)g, (byte)b);
            }
            SyntheticData.Write(dir[$"data/masks/c{i}.png"], rgb, 8, 8, 3);
        }
        var report = DatasetScanner.Scan(dir["data"], allowLabelMaps: true, ImageLimits.Default, dir["united"], new ColourMaskOptions(dir["mapped"]));
        Assert.Empty(report.Problems);
        Assert.Equal(3, report.Classes);
        Assert.Equal(["#000000", "#008000", "#ff0000"], report.ClassColours);
        foreach (var pair in report.Pairs)
        {
            Assert.StartsWith(dir["mapped"], pair.MaskPath);
            Assert.Equal(dir[$"data/masks/{pair.Name}.png"], Assert.Single(pair.MaskFiles));
            Assert.Equal(2, MaskReader.ReadLabels(pair.MaskPath).Pixels[0]); // red is label 2 in both files
        }

        // Without colour options a colour mask is refused, as before.
        var refused = DatasetScanner.Scan(dir["data"], allowLabelMaps: true, ImageLimits.Default, dir["united"]);
        Assert.Contains(refused.Problems, p => p.File == "masks/c0.png" && p.Problem.Contains("colour pixels"));
    }
}
