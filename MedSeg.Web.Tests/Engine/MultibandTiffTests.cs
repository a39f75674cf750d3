using MedSeg.Engine.Data;
using MedSeg.Web.Tests.Support;
using NetVips;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Multi-band float TIFF (extra samples that are data) keeps every band; grey + alpha and RGBA files decode as before.</summary>
public sealed class MultibandTiffTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    public void MultibandTiffKeepsEveryFloatBandAsStored(int bands)
    {
        var pixels = Enumerable.Range(0, 7 * 4 * bands).Select(i => i * 13.25f - 1024).ToArray();

        var tiff = MultibandTiff.Encode(pixels, 7, 4, bands);
        var raster = ImageDecoder.Decode(tiff, ImageLimits.Default, "slice.tif");

        Assert.Equal(bands > 1, MultibandTiff.IsMultiband(tiff));
        Assert.Equal((7, 4, bands), (raster.Width, raster.Height, raster.Bands));
        Assert.Equal(pixels, raster.Pixels);
        Assert.True(raster.SixteenBitOrMore);
    }

    [Fact]
    public void MultibandTiffLeavesAlphaOfOrdinaryImagesAlone()
    {
        using var grey = Image.NewFromMemory(new byte[6 * 2], 3, 2, 2, Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Bw);
        using var rgba = Image.NewFromMemory(new byte[6 * 4], 3, 2, 4, Enums.BandFormat.Uchar).Copy(interpretation: Enums.Interpretation.Srgb);

        Assert.Equal(1, ImageDecoder.Decode(grey.PngsaveBuffer(), ImageLimits.Default).Bands);
        Assert.Equal(3, ImageDecoder.Decode(rgba.PngsaveBuffer(), ImageLimits.Default).Bands);
        // libvips marks a grey TIFF's second band as alpha (ExtraSamples 2): still grey + alpha.
        var greyAlphaTiff = grey.TiffsaveBuffer();
        Assert.False(MultibandTiff.IsMultiband(greyAlphaTiff));
        Assert.Equal(1, ImageDecoder.Decode(greyAlphaTiff, ImageLimits.Default).Bands);
        Assert.Equal(3, ImageDecoder.Decode(rgba.TiffsaveBuffer(), ImageLimits.Default).Bands);
    }

    [Fact]
    public void MultibandTiffRendersItsFirstChannel()
    {
        using var dir = new TempDirectory("medseg-tiff");
        var path = Path.Combine(dir.Path, "two.tif");
        File.WriteAllBytes(path, MultibandTiff.Encode([0, 1000, 50, 1000, 100, 1000], 3, 1, 2));

        var png = ImageRendering.ImagePng(path, 0);

        var shown = ImageDecoder.Decode(png, ImageLimits.Default);
        Assert.Equal(1, shown.Bands);
        Assert.Equal([0, 128, 255], shown.Pixels);
    }
}
