using MedSeg.Engine.Data;
using MedSeg.Web.Tests.Support;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The engine's checks on images from outside: pixel count from the header, content sniffing, BMP header sanity.
/// They run before any large allocation, which the memory bounds here show.</summary>
public sealed class ImageLimitsTests(ITestOutputHelper output)
{
    [Fact]
    public void PixelBombIsRefusedFromItsHeaderBeforeDecoding()
    {
        var bomb = HostileFiles.PixelBomb;
        Assert.InRange(bomb.Length, 1, 4 * 1024 * 1024); // a few MB on disk, 900 megapixels inside

        using var probe = MemoryProbe.Start();
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(bomb, ImageLimits.Default, "bomb.png"));
        // Decoding it would take 0.9 GB in libvips and 3.6 GB as floats; the header check takes nothing.
        probe.AssertBelow(output, allocatedMiB: 16, workingSetMiB: 64);

        Assert.Contains("30000 × 30000", e.Message);
        Assert.Contains("900 megapixels", e.Message);
        Assert.Contains("8192 × 8192", e.Message);
        Assert.Equal(ImageFormat.Png, ImageDecoder.ReadHeader(bomb, ImageLimits.None).Format);
    }

    [Fact]
    public void MemoryProbeSeesWhatADecodeCosts()
    {
        // The instrument behind the bounds: a 4096 × 4096 grey decode holds 16 MiB in libvips and 64 MiB of floats.
        var png = HostileFiles.Png(4096, 4096);
        using var probe = MemoryProbe.Start();
        var raster = ImageDecoder.Decode(png, ImageLimits.Default, "big.png");
        output.WriteLine(probe.Report);
        Assert.True(probe.AllocatedBytes > 64L * 1024 * 1024, probe.Report);
        Assert.True(probe.PeakWorkingSetDelta > 64L * 1024 * 1024, probe.Report);
        GC.KeepAlive(raster);
    }

    [Fact]
    public void ImagesWithinTheLimitStillDecode()
    {
        var png = HostileFiles.Png(300, 200);
        var raster = ImageDecoder.Decode(png, new ImageLimits(300 * 200), "ok.png");
        Assert.Equal((300, 200, 1), (raster.Width, raster.Height, raster.Bands));
        Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(png, new ImageLimits(300 * 200 - 1), "ok.png"));
    }

    [Fact]
    public void ScannerRefusesAPixelBombInAFolderAsTheCliReadsIt()
    {
        using var dir = new TempDir();
        SyntheticData.Write(dir["images/ok.png"], SyntheticData.Disc(16, 16, 1).Image, 16, 16, 3);
        SyntheticData.WriteMask(dir["masks/ok.png"], SyntheticData.Disc(16, 16, 1).Mask, 16, 16);
        File.WriteAllBytes(dir["images/bomb.png"], HostileFiles.PixelBomb);
        File.WriteAllBytes(dir["masks/bomb.png"], HostileFiles.PixelBomb);

        using var probe = MemoryProbe.Start();
        var report = DatasetScanner.Scan(dir.Path); // what 'medseg train --data DIR' calls, with ImageLimits.Default
        probe.AssertBelow(output, allocatedMiB: 32, workingSetMiB: 96);

        Assert.Equal(["images/bomb.png", "masks/bomb.png"], report.Problems.Select(p => p.File));
        Assert.All(report.Problems, p => Assert.Contains("megapixels", p.Problem));
        Assert.Equal(["ok"], report.Pairs.Select(p => p.Name));
    }

    [Theory]
    [InlineData("svg", "SVG/XML, not PNG")]
    [InlineData("html", "HTML, not PNG")]
    [InlineData("text", "text, not PNG")]
    [InlineData("gif", "GIF, not PNG")]
    public void ContentThatIsNotAnImageIsRefusedWhateverItsName(string kind, string expected)
    {
        var bytes = kind switch
        {
            "svg" => HostileFiles.Svg,
            "html" => HostileFiles.Html,
            "gif" => "GIF89a\x01\0\x01\0\0\0\0;"u8.ToArray(),
            _ => "case,label\n1,2\n"u8.ToArray(),
        };
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(bytes, ImageLimits.Default, "case-01.png"));
        Assert.StartsWith($"the file content is {expected}", e.Message);
        Assert.Contains("PNG, JPEG, TIFF, BMP and DICOM", e.Message);
        // Stored files go through the same content check: libvips' SVG loader is never reached.
        using var dir = new TempDir();
        File.WriteAllBytes(dir["x.png"], bytes);
        Assert.Throws<ImageRefusedException>(() => ImageDecoder.DecodeFile(dir["x.png"]));
    }

    [Fact]
    public void ScannerNamesAnSvgSavedAsPng()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["images"]);
        File.WriteAllBytes(dir["images/a.png"], HostileFiles.Svg);
        SyntheticData.WriteMask(dir["masks/a.png"], new byte[16], 4, 4);
        var problem = Assert.Single(DatasetScanner.Scan(dir.Path).Problems);
        Assert.Equal("images/a.png", problem.File);
        Assert.Contains("the file content is SVG/XML, not PNG", problem.Problem);
    }

    [Fact]
    public void AJpegNamedPngIsReadByItsContent()
    {
        using var dir = new TempDir();
        SyntheticData.Write(dir["a.jpg"], SyntheticData.Disc(16, 16, 1).Image, 16, 16, 3);
        var raster = ImageDecoder.Decode(File.ReadAllBytes(dir["a.jpg"]), ImageLimits.Default, "a.png");
        Assert.True(raster.Lossy);
    }

    [Fact]
    public void AWellFormedBmpDecodes()
    {
        var raster = ImageDecoder.Decode(HostileFiles.Bmp(5, 3), ImageLimits.Default, "a.bmp");
        Assert.Equal((5, 3, 1), (raster.Width, raster.Height, raster.Bands));
    }

    [Theory]
    [InlineData("palette", "palette of 1000000000 colours")]
    [InlineData("palette-negative", "palette of -1 colours")]
    [InlineData("width-negative", "impossible size -5×8")]
    [InlineData("height-min", "impossible size 8×-2147483648")]
    [InlineData("width-huge", "impossible size 2147483647×8")]
    [InlineData("header-size", "header size 999999")]
    [InlineData("offset-past-end", "past the end of the file")]
    [InlineData("offset-negative", "inside the header or palette")]
    [InlineData("rows-missing", "the header claims 60000×60000 pixels")]
    public void BmpHeadersNoRealFileHasAreRefusedBeforeAnyAllocation(string tamper, string expected)
    {
        var bmp = HostileFiles.Bmp(tamper: b =>
        {
            switch (tamper)
            {
                case "palette": HostileFiles.SetInt32(b, 46, 1_000_000_000); break;
                case "palette-negative": HostileFiles.SetInt32(b, 46, -1); break;
                case "width-negative": HostileFiles.SetInt32(b, 18, -5); break;
                case "height-min": HostileFiles.SetInt32(b, 22, int.MinValue); break;
                case "width-huge": HostileFiles.SetInt32(b, 18, int.MaxValue); break;
                case "header-size": HostileFiles.SetInt32(b, 14, 999_999); break;
                case "offset-past-end": HostileFiles.SetInt32(b, 10, int.MaxValue); break;
                case "offset-negative": HostileFiles.SetInt32(b, 10, -100); break;
                case "rows-missing": HostileFiles.SetInt32(b, 18, 60_000); HostileFiles.SetInt32(b, 22, 60_000); break;
            }
        });

        using var probe = MemoryProbe.Start();
        // Exactly InvalidDataException: a corrupt file, not one refused by a limit.
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(bmp, ImageLimits.None, "mask.bmp"));
        probe.AssertBelow(output, allocatedMiB: 8, workingSetMiB: 32);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ALargeBmpWithinTheFileIsStillBoundByThePixelLimit()
    {
        // 4096 × 4096 8-bit: 16 MB of rows, all present, 16.8 megapixels.
        var bmp = HostileFiles.Bmp(4096, 4096);
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(bmp, new ImageLimits(16_000_000), "big.bmp"));
        Assert.Contains("4096 × 4096", e.Message);
    }

    [Fact]
    public void AFileLargerThanAnyImageWithinTheLimitIsNotReadWhole()
    {
        using var dir = new TempDir();
        var path = dir["huge.png"];
        using (var f = File.Create(path))
        {
            f.Write(HostileFiles.Png(4, 4));
            f.SetLength(20 * 1024 * 1024);
        }
        var limits = new ImageLimits(1000); // files above 16 MiB + 16 kB are refused
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.ReadFile(path, limits));
        Assert.Contains("larger than any image", e.Message);
        Assert.Equal(4, ImageDecoder.ReadHeader(ImageDecoder.ReadFile(path, ImageLimits.Default), ImageLimits.Default).Width);
    }
}
