using MedSeg.Engine.Data;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The DICOM reader on files written by <see cref="DicomWriter"/>: values as stored, rescaled and inverted by hand.</summary>
public sealed class DicomReaderTests
{
    [Theory]
    [InlineData(DicomWriter.ExplicitLittle)]
    [InlineData(DicomWriter.ImplicitLittle)]
    [InlineData(DicomWriter.ExplicitBig)]
    public void Monochrome2SixteenBitSignedIsRescaledToHounsfieldUnits(string syntax)
    {
        var file = (DicomWriter.Ct(4, 3, syntax) with { Samples = [0, 1, 2, 3, -1, -2, 1000, 1024, 2047, 3000, -1000, 4095] }).Write();

        Assert.Equal(ImageFormat.Dicom, ImageSniffer.Identify(file.AsSpan(0, Math.Min(file.Length, ImageSniffer.HeadLength))));
        var raster = ImageDecoder.Decode(file, ImageLimits.Default, "ct.dcm");

        Assert.Equal((4, 3, 1), (raster.Width, raster.Height, raster.Bands));
        Assert.True(raster.SixteenBitOrMore);
        Assert.False(raster.Lossy);
        // HU = stored × 1 − 1024; stored values are signed 16-bit.
        Assert.Equal([-1024f, -1023, -1022, -1021, -1025, -1026, -24, 0, 1023, 1976, -2024, 3071], raster.Pixels);
        // Pixel Spacing is "row\column": 0.5 mm between rows (Y), 0.75 mm between columns (X).
        Assert.Equal(new PixelSpacing(0.75, 0.5), raster.Spacing);
        Assert.Equal(new ImageHeader(ImageFormat.Dicom, 4, 3), ImageDecoder.ReadHeader(file, ImageLimits.Default, "ct.dcm"));
    }

    [Fact]
    public void BitsStoredBelowBitsAllocatedAreMaskedAndSignExtended()
    {
        // 12 bits stored, signed: 0x0FFF is −1, 0x0800 is −2048; the high 4 bits are ignored.
        var file = new DicomWriter { Rows = 1, Columns = 3, Signed = true, BitsStored = 12, Samples = [0x0FFF, 0x0800, unchecked((short)0xF005)] }.Write();
        Assert.Equal([-1f, -2048, 5], ImageDecoder.Decode(file, ImageLimits.Default).Pixels);
    }

    [Fact]
    public void Monochrome1IsInvertedSoThatHighValuesAreBright()
    {
        var file = new DicomWriter { Rows = 1, Columns = 3, BitsAllocated = 8, Photometric = "MONOCHROME1", Modality = "CR", Samples = [0, 100, 255] }.Write();
        var raster = ImageDecoder.Decode(file, ImageLimits.Default, "cr.dcm");
        Assert.Equal([255f, 155, 0], raster.Pixels);
        Assert.False(raster.SixteenBitOrMore);
        Assert.Null(raster.Spacing);
    }

    [Fact]
    public void PlanarRgbBecomesInterleavedAndImagerPixelSpacingIsTheFallback()
    {
        var file = new DicomWriter
        {
            Rows = 1, Columns = 2, SamplesPerPixel = 3, Photometric = "RGB", BitsAllocated = 8, PlanarConfiguration = 1,
            ImagerPixelSpacing = "0.2\\0.1", WithSequence = true, Samples = [10, 11, 20, 21, 30, 31], // RR GG BB
        }.Write();
        var raster = ImageDecoder.Decode(file, ImageLimits.Default);
        Assert.Equal(3, raster.Bands);
        Assert.Equal([10f, 20, 30, 11, 21, 31], raster.Pixels);
        Assert.Equal(new PixelSpacing(0.1, 0.2), raster.Spacing);
    }

    [Fact]
    public void CompressedTransferSyntaxIsRefusedNamingTheSyntaxAndTheTools()
    {
        var file = (DicomWriter.Ct(4, 4) with { TransferSyntax = DicomWriter.JpegLossless }).Write();
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(file, ImageLimits.Default, "a.dcm"));
        Assert.Contains("JPEG Lossless, Non-Hierarchical, First-Order Prediction", e.Message);
        Assert.Contains("1.2.840.10008.1.2.4.70", e.Message);
        Assert.Contains("dcmdjpeg in.dcm out.dcm", e.Message);
        Assert.Contains("dcm2niix -z y", e.Message);
    }

    [Fact]
    public void MultiFrameIsRefusedWithDcm2niix()
    {
        var file = (DicomWriter.Ct(2, 2) with { Frames = 3, Samples = [.. Enumerable.Range(0, 12)] }).Write();
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(file, ImageLimits.Default));
        Assert.Contains("3 frames", e.Message);
        Assert.Contains("dcm2niix -z y", e.Message);
    }

    [Fact]
    public void SegObjectAndFileWithoutPixelDataAreRefusedByWhatTheyAre()
    {
        var seg = (DicomWriter.Ct(2, 2) with { SopClass = DicomWriter.SegStorage }).Write();
        Assert.Contains("DICOM SEG", Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(seg, ImageLimits.Default)).Message);
        var report = (DicomWriter.Ct(2, 2) with { Samples = null }).Write();
        Assert.Contains("no pixel data", Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(report, ImageLimits.Default)).Message);
    }

    [Fact]
    public void TruncatedFileIsRefusedAsTruncated()
    {
        var file = DicomWriter.Ct(16, 16).Write();
        var cut = file[..^100];
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(cut, ImageLimits.Default));
        Assert.Contains("truncated", e.Message);
        // Cut inside the attributes, before the pixel data.
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ImageDecoder.Decode(file[..250], ImageLimits.Default)).Message);
    }

    [Fact]
    public void PixelLimitIsCheckedFromTheAttributesBeforeAllocating()
    {
        // 60000 × 60000 declared, a few bytes of data: the size is refused, not the truncation.
        var file = new DicomWriter { Rows = 60000, Columns = 60000, Samples = [1, 2] }.Write();
        var e = Assert.Throws<ImageRefusedException>(() => ImageDecoder.Decode(file, ImageLimits.Default));
        Assert.Contains("60000 × 60000", e.Message);
    }

    [Fact]
    public void ScannerPairsDicomImagesWithPngMasksAndKeepsTheirSpacing()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(dir.Path, "images"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "masks"));
        var mask = new byte[16 * 16];
        mask[5] = 255;
        File.WriteAllBytes(Path.Combine(dir.Path, "images", "a.dcm"), DicomWriter.Ct(16, 16).Write());
        File.WriteAllBytes(Path.Combine(dir.Path, "masks", "a.png"), SyntheticDataset.Png(mask, 16, 16, 1));
        // Named by its UID, no image extension: recognised by the DICM mark, and the whole name is the pair's name.
        File.WriteAllBytes(Path.Combine(dir.Path, "images", "1.2.840.5"), DicomWriter.Ct(16, 16).Write());
        File.WriteAllBytes(Path.Combine(dir.Path, "masks", "1.2.840.5.png"), SyntheticDataset.Png(mask, 16, 16, 1));
        File.WriteAllBytes(Path.Combine(dir.Path, "images", "c.dcm"), (DicomWriter.Ct(16, 16) with { TransferSyntax = DicomWriter.JpegLossless }).Write());
        File.WriteAllBytes(Path.Combine(dir.Path, "masks", "c.png"), SyntheticDataset.Png(mask, 16, 16, 1));

        var report = DatasetScanner.Scan(dir.Path, allowLabelMaps: false);

        Assert.Equal(["1.2.840.5", "a"], report.Pairs.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(report.Pairs, p => Assert.Equal(new PixelSpacing(0.75, 0.5), p.Spacing));
        var problem = Assert.Single(report.Problems);
        Assert.Equal("images/c.dcm", problem.File);
        Assert.Contains("dcmdjpeg", problem.Problem);
        Assert.Equal(".dcm", ImageDecoder.StoredExtension("images/1.2.840.5"));
    }
}
