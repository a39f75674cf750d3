using System.Security.Cryptography;
using MedSeg.Engine.Data;

namespace MedSeg.Web.Tests.Engine;

public sealed class DatasetScannerTests
{
    [Fact]
    public void ScanAcceptsValidDatasetInEveryFormatAndComputesStatistics()
    {
        using var dir = new TempDir();
        var root = dir["upload"];
        var top = Path.Combine(root, "my dataset"); // an archive with one top folder
        var (img, mask) = SyntheticData.Disc(40, 30, 1);
        SyntheticData.Write(Path.Combine(top, "images", "case (1).png"), img, 40, 30, 3);
        SyntheticData.WriteMask(Path.Combine(top, "masks", "case (1).png"), mask, 40, 30);
        SyntheticData.Write(Path.Combine(top, "images", "b.tif"), img, 40, 30, 3);
        SyntheticData.WriteMask(Path.Combine(top, "masks", "b.tif"), mask, 40, 30, foreground: 1);
        SyntheticData.Write(Path.Combine(top, "images", "c.jpg"), img, 40, 30, 3);
        SyntheticData.WriteMask(Path.Combine(top, "masks", "c.jpg"), mask, 40, 30);
        var (grey, _) = SyntheticData.Disc(40, 30, 1, bands: 1);
        SyntheticData.Write(Path.Combine(top, "images", "d.bmp"), grey, 40, 30, 1);
        SyntheticData.Write(Path.Combine(top, "masks", "d.bmp"), mask.Select(v => (byte)(v * 255)).ToArray(), 40, 30, 1);
        File.WriteAllText(Path.Combine(top, "images", ".DS_Store"), "junk");
        File.WriteAllText(Path.Combine(top, "masks", "Thumbs.db"), "junk");
        Directory.CreateDirectory(Path.Combine(root, "__MACOSX"));

        var report = DatasetScanner.Scan(root);

        Assert.Empty(report.Problems);
        Assert.True(report.IsValid);
        Assert.Equal(1, report.Classes); // binary: 0/255, 0/1 and JPEG masks mixed
        Assert.Equal(["b", "c", "case (1)", "d"], report.Pairs.Select(p => p.Name));
        var expectedFraction = mask.Count(v => v != 0) / 1200.0;
        Assert.InRange(expectedFraction, 0.05, 0.5);
        foreach (var pair in report.Pairs)
        {
            Assert.Equal((40, 30), (pair.Width, pair.Height));
            Assert.Equal(3, pair.Channels); // the BMP is 24-bit, so colour even though grey
            // JPEG edges move a little after thresholding; lossless masks are exact.
            Assert.Equal(expectedFraction, pair.ForegroundFraction, pair.Name == "c" ? 2 : 9);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(pair.ImagePath))), pair.ImageSha256);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(pair.MaskPath))), pair.MaskSha256);
            Assert.True(Path.IsPathRooted(pair.ImagePath));
        }
    }

    [Fact]
    public void ScanReportsEmptyDataset()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["images"]);
        Directory.CreateDirectory(dir["masks"]);
        var report = DatasetScanner.Scan(dir.Path);
        Assert.False(report.IsValid);
        Assert.Contains(report.Problems, p => p.Problem.Contains("no images"));
    }

    [Fact]
    public void ScanReportsMissingImagesAndMasksFolders()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir["pictures"]);
        var report = DatasetScanner.Scan(dir.Path);
        Assert.False(report.IsValid);
        Assert.Contains("images/ and masks/", Assert.Single(report.Problems).Problem);
    }

    [Fact]
    public void ScanReportsMaskWithUnexpectedLabelValues()
    {
        using var dir = new TempDir();
        var (img, mask) = SyntheticData.Disc(32, 32, 3);
        SyntheticData.Write(dir["images/a.png"], img, 32, 32, 3);
        var values = mask.Select((v, i) => v != 0 ? (byte)255 : i % 7 == 0 ? (byte)128 : i % 11 == 0 ? (byte)3 : (byte)0).ToArray();
        SyntheticData.Write(dir["masks/a.png"], values, 32, 32, 1);

        var problem = Assert.Single(DatasetScanner.Scan(dir.Path).Problems);
        Assert.Equal("masks/a.png", problem.File);
        Assert.Contains("128", problem.Problem);
        Assert.Contains("3", problem.Problem);
        Assert.Contains("only 0 and 255, or only 0 and 1", problem.Problem);
    }

    [Fact]
    public void ScanReadsLabelMapsAndCountsTheClasses()
    {
        using var dir = new TempDir();
        var cases = SyntheticData.CreateLabelDataset(dir.Path, 2, 32, 24);
        var (img, labels) = SyntheticData.SquareAndDisc(32, 24, 9);
        SyntheticData.Write(dir["images/only-one.png"], img, 32, 24, 3);
        SyntheticData.Write(dir["masks/only-one.png"], labels.Select(v => v == 2 ? (byte)0 : v).ToArray(), 32, 24, 1); // 0/1: label 1 only
        SyntheticData.Write(dir["images/empty.png"], img, 32, 24, 3);
        SyntheticData.Write(dir["masks/empty.png"], new byte[32 * 24], 32, 24, 1);

        var report = DatasetScanner.Scan(dir.Path);

        Assert.Empty(report.Problems);
        Assert.Equal(3, report.Classes);
        Assert.True(report.IsMultiClass);
        var byName = report.Pairs.ToDictionary(p => p.Name);
        Assert.Equal(4, byName.Count);
        Assert.Equal((MaskEncoding.LabelMap, 2), (byName["lab-000"].MaskEncoding, byName["lab-000"].MaxLabel));
        Assert.Equal((MaskEncoding.Binary01, 1), (byName["only-one"].MaskEncoding, byName["only-one"].MaxLabel));
        Assert.Equal((MaskEncoding.Empty, 0), (byName["empty"].MaskEncoding, byName["empty"].MaxLabel));
        var read = MaskReader.ReadLabels(cases[0].MaskPath);
        Assert.Equal(SyntheticData.SquareAndDisc(32, 24, 0).Labels, read.Pixels);
        Assert.Equal(read.ForegroundFraction, byName["lab-000"].ForegroundFraction, 12);
        // The binary reader never binarises a label map.
        var e = Assert.Throws<InvalidDataException>(() => MaskReader.Read(cases[0].MaskPath));
        Assert.Contains("label map (labels 0, 1, 2", e.Message);
        // Binary-only scans (the web's uploads) refuse each label map by name.
        var binaryOnly = DatasetScanner.Scan(dir.Path, allowLabelMaps: false);
        Assert.Equal(1, binaryOnly.Classes);
        Assert.Equal(["masks/lab-000.png", "masks/lab-001.png"], binaryOnly.Problems.Select(p => p.File));
        Assert.All(binaryOnly.Problems, p => Assert.Contains("medseg train", p.Problem));
        Assert.Equal(["empty", "only-one"], binaryOnly.Pairs.Select(p => p.Name));
    }

    [Fact]
    public void ScanRefusesBrokenLabelMapsNamingEachFileAndItsValues()
    {
        using var dir = new TempDir();
        SyntheticData.CreateLabelDataset(dir.Path, 2, 32, 32);
        var (img, labels) = SyntheticData.SquareAndDisc(32, 32, 5);
        void Case(string name, byte[] mask, string ext = ".png", int bands = 1)
        {
            SyntheticData.Write(dir[$"images/{name}.png"], img, 32, 32, 3);
            SyntheticData.Write(dir[$"masks/{name}{ext}"], mask, 32, 32, bands);
        }
        Case("white", labels.Select(v => v != 0 ? (byte)255 : (byte)0).ToArray());          // binary 0/255 among label maps
        Case("lossy", labels.Select(v => v != 0 ? (byte)255 : (byte)0).ToArray(), ".jpg");  // JPEG among label maps
        Case("mixed", labels.Select((v, i) => v == 2 && i % 3 == 0 ? (byte)255 : v).ToArray()); // 255 mixed with labels
        Case("high", labels.Select(v => v == 2 ? (byte)40 : v).ToArray());                  // above the largest label
        Case("colour", labels.SelectMany(v => new byte[] { (byte)(v * 100), (byte)(v * 50), 0 }).ToArray(), bands: 3);

        var report = DatasetScanner.Scan(dir.Path);
        var byFile = report.Problems.GroupBy(p => p.File).ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(p => p.Problem)));

        Assert.Equal(3, report.Classes);
        Assert.Equal(["lab-000", "lab-001"], report.Pairs.Select(p => p.Name));
        Assert.True(5 == byFile.Count, string.Join("\n", byFile.Select(kv => kv.Key + ": " + kv.Value)));
        Assert.Contains("0 and 255", byFile["masks/white.png"]);
        Assert.Contains("masks/lab-000.png is a label map with labels up to 2", byFile["masks/white.png"]);
        Assert.Contains("JPEG", byFile["masks/lossy.jpg"]);
        Assert.Contains("label values 1, 2", byFile["masks/mixed.png"]);
        Assert.Contains("255", byFile["masks/mixed.png"]);
        Assert.Contains("label values 40", byFile["masks/high.png"]);
        Assert.Contains("colour", byFile["masks/colour.png"]);

        // Labels must run 0 … K − 1: a dataset using 1 and 3 lacks 2.
        using var gap = new TempDir();
        SyntheticData.Write(gap["images/a.png"], img, 32, 32, 3);
        SyntheticData.Write(gap["masks/a.png"], labels.Select(v => v == 2 ? (byte)3 : v).ToArray(), 32, 32, 1);
        var gapReport = DatasetScanner.Scan(gap.Path);
        var problem = Assert.Single(gapReport.Problems);
        Assert.Equal("masks/", problem.File);
        Assert.Contains("label 2 occurs in no mask", problem.Problem);
        Assert.Equal(4, gapReport.Classes);
        Assert.False(gapReport.IsValid);
    }

    [Fact]
    public void ScanReportsEveryProblemByFile()
    {
        using var dir = new TempDir();
        var (img, mask) = SyntheticData.Disc(32, 32, 5);
        void Pair(string name, string imageExt = ".png", string maskExt = ".png")
        {
            SyntheticData.Write(dir[$"images/{name}{imageExt}"], img, 32, 32, 3);
            SyntheticData.WriteMask(dir[$"masks/{name}{maskExt}"], mask, 32, 32);
        }

        Pair("good");
        // Corrupt: a truncated PNG image, and a "mask" that is random bytes.
        Pair("truncated");
        var bytes = File.ReadAllBytes(dir["images/truncated.png"]);
        File.WriteAllBytes(dir["images/truncated.png"], bytes[..(bytes.Length / 2)]);
        Pair("garbage");
        File.WriteAllBytes(dir["masks/garbage.png"], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        // Image without mask, mask without image.
        SyntheticData.Write(dir["images/lonely image.png"], img, 32, 32, 3);
        SyntheticData.WriteMask(dir["masks/lonely mask.png"], mask, 32, 32);
        // Size mismatch.
        SyntheticData.Write(dir["images/small.png"], img, 32, 32, 3);
        var (_, bigMask) = SyntheticData.Disc(48, 40, 5);
        SyntheticData.WriteMask(dir["masks/small.png"], bigMask, 48, 40);
        // Colour mask and mixed 0/1/255 mask.
        SyntheticData.Write(dir["images/red.png"], img, 32, 32, 3);
        SyntheticData.Write(dir["masks/red.png"], mask.SelectMany(v => new byte[] { (byte)(v * 255), 0, 0 }).ToArray(), 32, 32, 3);
        SyntheticData.Write(dir["images/mixed.png"], img, 32, 32, 3);
        SyntheticData.Write(dir["masks/mixed.png"], mask.Select((v, i) => v != 0 ? (byte)255 : (byte)(i % 2)).ToArray(), 32, 32, 1);
        // Duplicate stem, unsupported file, hidden file (ignored).
        Pair("dup");
        SyntheticData.Write(dir["images/dup.jpg"], img, 32, 32, 3);
        File.WriteAllText(dir["images/notes.txt"], "hello");
        File.WriteAllText(dir["masks/.hidden"], "hello");

        var report = DatasetScanner.Scan(dir.Path);
        var byFile = report.Problems.GroupBy(p => p.File).ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(p => p.Problem)));

        Assert.Equal(["good"], report.Pairs.Select(p => p.Name));
        Assert.False(report.IsValid);
        Assert.Contains("unreadable", byFile["images/truncated.png"]);
        Assert.Contains("the file content is unrecognised binary data (first bytes 0102030405060708), not PNG", byFile["masks/garbage.png"]);
        Assert.Contains("no mask named lonely image.* in masks/", byFile["images/lonely image.png"]);
        Assert.Contains("no image named lonely mask.* in images/", byFile["masks/lonely mask.png"]);
        Assert.Contains("48×40", byFile["masks/small.png"]);
        Assert.Contains("32×32", byFile["masks/small.png"]);
        Assert.Contains("colour", byFile["masks/red.png"]);
        Assert.Contains("label values 1", byFile["masks/mixed.png"]);
        Assert.Contains("duplicate", byFile["images/dup.png"]);
        Assert.Contains("duplicate", byFile["images/dup.jpg"]);
        Assert.Contains("unsupported file type '.txt'", byFile["images/notes.txt"]);
        Assert.True(10 == byFile.Count, string.Join("\n", byFile.Select(kv => kv.Key + ": " + kv.Value)));
        Assert.DoesNotContain(report.Problems, p => p.File.Contains(".hidden"));
    }
}
