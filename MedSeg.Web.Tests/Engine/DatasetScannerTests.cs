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

    // Pairing rules (PairingRules, docs/datasets.md "Pairing").

    /// <summary>An image and its 0/255 disc mask as 24×20 PNGs: <paramref name="image"/> and <paramref name="mask"/> are
    /// relative to <paramref name="root"/>. Returns the mask's 0/1 pixels.</summary>
    private static byte[] WritePair(string root, string image, string? mask, int seed = 1)
    {
        var (img, m) = SyntheticData.Disc(24, 20, seed);
        SyntheticData.Write(Path.Combine(root, image), img, 24, 20, 3);
        if (mask is not null) SyntheticData.WriteMask(Path.Combine(root, mask), m, 24, 20);
        return m;
    }

    private static string Describe(ScanReport report) => string.Join("\n", report.Problems.Select(p => p.File + ": " + p.Problem));

    public static TheoryData<string, string, bool> FolderNames()
    {
        var data = new TheoryData<string, string, bool>();
        var i = 0;
        foreach (var image in PairingRules.ImageFolders)
            foreach (var mask in PairingRules.MaskFolders)
            {
                // Case-insensitive, and at the top or one folder below, in turn.
                var upper = i % 3 == 1;
                data.Add(upper ? image.ToUpperInvariant() : image, i % 3 == 2 ? mask.ToUpperInvariant() : mask, i++ % 2 == 1);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(FolderNames))]
    public void EveryImageAndMaskFolderNamePairsAtTheTopOrOneFolderBelow(string imageFolder, string maskFolder, bool inTopFolder)
    {
        using var dir = new TempDir();
        var root = inTopFolder ? dir["Dataset (v2)"] : dir.Path;
        WritePair(root, $"{imageFolder}/case (1).png", $"{maskFolder}/case (1).png");
        WritePair(root, $"{imageFolder}/case (2).png", $"{maskFolder}/case (2)_mask.png", seed: 2);

        var report = DatasetScanner.Scan(dir.Path);

        Assert.True(report.Problems.Count == 0, Describe(report));
        Assert.Equal(["case (1)", "case (2)"], report.Pairs.Select(p => p.Name));
        Assert.Equal(Path.Combine(root, maskFolder, "case (2)_mask.png"), report.Pairs[1].MaskPath);
    }

    [Theory]
    [InlineData("_mask")]
    [InlineData("_seg")]
    [InlineData("_segmentation")]
    [InlineData("_label")]
    [InlineData("_labels")]
    [InlineData("_gt")]
    [InlineData("-mask")]
    [InlineData(" mask")]
    [InlineData("_MASK")]
    [InlineData(" Mask")]
    public void EveryMaskSuffixPairsInParallelFoldersAndInOneFolder(string suffix)
    {
        Assert.Contains(suffix, PairingRules.MaskSuffixes, StringComparer.OrdinalIgnoreCase);
        using var parallel = new TempDir();
        var mask = WritePair(parallel.Path, "images/benign (1).png", $"masks/benign (1){suffix}.png");
        using var shared = new TempDir();
        WritePair(shared.Path, "benign/benign (1).png", $"benign/benign (1){suffix}.png");
        WritePair(shared.Path, "benign/benign (2).png", $"benign/benign (2){suffix}_1.png", seed: 2); // numbered, alone

        foreach (var (report, expected) in new[] { (DatasetScanner.Scan(parallel.Path), 1), (DatasetScanner.Scan(shared.Path), 2) })
        {
            Assert.True(report.Problems.Count == 0, Describe(report));
            Assert.Equal(expected, report.Pairs.Count);
            var pair = report.Pairs[0];
            Assert.Equal("benign (1)", pair.Name);
            Assert.EndsWith($"benign (1){suffix}.png", pair.MaskPath);
            Assert.Null(pair.MergedFrom);
            Assert.Equal([pair.MaskPath], pair.MaskFiles);
            Assert.Equal(mask.Count(v => v != 0) / 480.0, pair.ForegroundFraction, 9);
        }
    }

    [Fact]
    public void MaskSuffixPairsInOneFolderAndSeveralMasksAreUnited()
    {
        // BUSI as distributed: one folder per class under an archive's top folder, masks beside their images.
        using var dir = new TempDir();
        using var united = new TempDir();
        var top = dir["Dataset_BUSI_with_GT"];
        WritePair(top, "benign/benign (1).png", "benign/benign (1)_mask.png", seed: 1);
        var (img, first) = SyntheticData.Disc(24, 20, 3);
        var (_, second) = SyntheticData.Disc(24, 20, 4);
        var (_, third) = SyntheticData.Disc(24, 20, 5);
        SyntheticData.Write(Path.Combine(top, "benign", "benign (4).png"), img, 24, 20, 3);
        SyntheticData.WriteMask(Path.Combine(top, "benign", "benign (4)_mask.png"), first, 24, 20);
        SyntheticData.WriteMask(Path.Combine(top, "benign", "benign (4)_mask_1.png"), second, 24, 20, foreground: 1); // 0/1 and 0/255 mixed
        SyntheticData.WriteMask(Path.Combine(top, "benign", "benign (4)_mask_2.png"), third, 24, 20);
        WritePair(top, "malignant/malignant (1).png", "malignant/malignant (1)_mask.png", seed: 6);
        SyntheticData.Write(Path.Combine(top, "normal", "normal (1).png"), img, 24, 20, 3);
        SyntheticData.Write(Path.Combine(top, "normal", "normal (1)_mask.png"), new byte[24 * 20], 24, 20, 1);
        Directory.CreateDirectory(dir["__MACOSX"]);

        var report = DatasetScanner.Scan(dir.Path, allowLabelMaps: false, ImageLimits.Default, united.Path);

        Assert.True(report.Problems.Count == 0, Describe(report));
        Assert.Equal(["benign (1)", "benign (4)", "malignant (1)", "normal (1)"], report.Pairs.Select(p => p.Name));
        var pair = report.Pairs[1];
        Assert.Equal(Path.Combine(top, "benign", "benign (4).png"), pair.ImagePath);
        Assert.Equal(["benign (4)_mask.png", "benign (4)_mask_1.png", "benign (4)_mask_2.png"], pair.MaskFiles.Select(Path.GetFileName));
        Assert.Equal(Path.Combine(united.Path, "benign (4).png"), pair.MaskPath);
        var expected = first.Select((v, i) => (byte)(v | second[i] | third[i])).ToArray();
        Assert.True(expected.Count(v => v != 0) > new[] { first, second, third }.Max(m => m.Count(v => v != 0)), "the discs must differ");
        var read = MaskReader.Read(pair.MaskPath);
        Assert.Equal((24, 20), (read.Width, read.Height));
        for (var i = 0; i < expected.Length; i++)
            Assert.True(expected[i] == read.Pixels[i], $"pixel ({i % 24}, {i / 24}): expected {expected[i]}, read {read.Pixels[i]}");
        Assert.Equal(MaskEncoding.Binary255, pair.MaskEncoding);
        Assert.Equal(expected.Count(v => v != 0) / 480.0, pair.ForegroundFraction, 12);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(pair.MaskPath))), pair.MaskSha256);
        Assert.Equal((MaskEncoding.Empty, 0), (report.Pairs[3].MaskEncoding, report.Pairs[3].MaxLabel));
        Assert.Equal(Path.Combine(top, "normal", "normal (1)_mask.png"), report.Pairs[3].MaskPath);
        // The union is written outside the dataset, so a second scan finds the same files.
        Assert.Equal(report.Pairs.Select(p => p.Name), DatasetScanner.Scan(dir.Path, allowLabelMaps: false, ImageLimits.Default, united.Path).Pairs.Select(p => p.Name));
    }

    [Fact]
    public void SeveralLabelMapsForOneImageAreRefusedNamingTheFiles()
    {
        using var dir = new TempDir();
        SyntheticData.CreateLabelDataset(dir.Path, 2, 32, 24);
        var (img, labels) = SyntheticData.SquareAndDisc(32, 24, 9);
        SyntheticData.Write(dir["images/two.png"], img, 32, 24, 3);
        SyntheticData.Write(dir["masks/two_seg.png"], labels, 32, 24, 1);
        SyntheticData.Write(dir["masks/two_seg_1.png"], labels.Select(v => v == 2 ? (byte)1 : v).ToArray(), 32, 24, 1);

        var report = DatasetScanner.Scan(dir.Path);

        var problem = Assert.Single(report.Problems);
        Assert.Equal("images/two.png", problem.File);
        Assert.Contains("masks/two_seg.png, masks/two_seg_1.png", problem.Problem);
        Assert.Contains("masks/two_seg.png is a label map", problem.Problem);
        Assert.Contains("cannot be united", problem.Problem);
        Assert.Equal(["lab-000", "lab-001"], report.Pairs.Select(p => p.Name));
        Assert.Equal(3, report.Classes);
        // Several binary masks in a label-map dataset: the union is 0/255, refused under each of its files.
        using var mixed = new TempDir();
        SyntheticData.CreateLabelDataset(mixed.Path, 1, 32, 24);
        var (_, disc) = SyntheticData.Disc(32, 24, 1);
        SyntheticData.Write(mixed["images/both.png"], img, 32, 24, 3);
        SyntheticData.WriteMask(mixed["masks/both_mask.png"], disc, 32, 24, foreground: 1);
        SyntheticData.WriteMask(mixed["masks/both_mask_1.png"], disc, 32, 24);
        using var united = new TempDir();
        var mixedReport = DatasetScanner.Scan(mixed.Path, allowLabelMaps: true, ImageLimits.Default, united.Path);
        Assert.Equal(["masks/both_mask.png", "masks/both_mask_1.png"], mixedReport.Problems.Select(p => p.File));
        Assert.All(mixedReport.Problems, p => Assert.Contains("united with the other masks of images/both.png", p.Problem));
        Assert.Equal(["lab-000"], mixedReport.Pairs.Select(p => p.Name));
    }

    [Fact]
    public void AmbiguousPairingsAreReportedWithTheirFilesAndWhatToRename()
    {
        using var dir = new TempDir();
        WritePair(dir.Path, "images/good.png", "masks/good_mask.png");
        WritePair(dir.Path, "images/two rules.png", "masks/two rules_mask.png");
        WritePair(dir.Path, "images/two rules.png", "masks/two rules_seg.png");
        WritePair(dir.Path, "images/orphan (2).png", "masks/orphan_mask.png");  // names no image
        WritePair(dir.Path, "images/alone.png", null);
        WritePair(dir.Path, "images/twin.png", "masks/twin.png");
        WritePair(dir.Path, "images/twin.jpg", null);
        WritePair(dir.Path, "images/b.png", null);
        WritePair(dir.Path, "images/b_mask.png", "masks/b_mask.png");           // the mask of b_mask, and of b by its suffix
        WritePair(dir.Path, "images/c.png", "masks/c.png");
        WritePair(dir.Path, "images/c.png", "masks/c_gt.png");                  // two rules: the same name and a suffix

        var report = DatasetScanner.Scan(dir.Path);
        var byFile = report.Problems.GroupBy(p => p.File).ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(p => p.Problem)));

        Assert.Equal(["good"], report.Pairs.Select(p => p.Name));
        Assert.True(8 == byFile.Count, Describe(report)); // with images/orphan (2).png, which has no mask
        Assert.Contains("masks/two rules_mask.png (the suffix '_mask') and masks/two rules_seg.png (the suffix '_seg')", byFile["images/two rules.png"]);
        Assert.Contains("rename or remove", byFile["images/two rules.png"]);
        Assert.Contains("masks/c.png (the same name) and masks/c_gt.png (the suffix '_gt')", byFile["images/c.png"]);
        Assert.Contains("no image named orphan_mask.* in images/ (nor orphan.*, which its suffix '_mask' names)", byFile["masks/orphan_mask.png"]);
        Assert.Contains("no mask named alone.* in masks/ (nor alone_mask.*", byFile["images/alone.png"]);
        Assert.Contains("images/twin.jpg and images/twin.png share the name 'twin'", byFile["images/twin.jpg"]);
        Assert.Contains("images/twin.jpg and images/twin.png share the name 'twin'", byFile["images/twin.png"]);
        Assert.Contains("by the same name it is the mask of images/b_mask.png, and by the suffix '_mask' the mask of images/b.png", byFile["masks/b_mask.png"]);
        Assert.Contains("rename the mask or one of the images", byFile["masks/b_mask.png"]);
        Assert.DoesNotContain("images/b.png", byFile.Keys);       // its only candidate mask is reported above
        Assert.DoesNotContain("masks/twin.png", byFile.Keys);     // its image's name is reported

        // In class folders, a name must be unique over all of them, and a mask pairs only with an image beside it.
        using var classes = new TempDir();
        WritePair(classes.Path, "benign/x (1).png", "benign/x (1)_mask.png");
        WritePair(classes.Path, "malignant/x (1).png", "malignant/x (1)_mask.png");
        WritePair(classes.Path, "benign/y.png", "malignant/y_mask.png");
        WritePair(classes.Path, "normal/z.png", "normal/z_mask.png");
        var classReport = DatasetScanner.Scan(classes.Path);
        var byClassFile = classReport.Problems.GroupBy(p => p.File).ToDictionary(g => g.Key, g => string.Join(" | ", g.Select(p => p.Problem)));
        Assert.Equal(["z"], classReport.Pairs.Select(p => p.Name));
        Assert.Contains("benign/x (1).png and malignant/x (1).png share the name 'x (1)'", byClassFile["benign/x (1).png"]);
        Assert.Contains("duplicate name", byClassFile["malignant/x (1).png"]);
        Assert.Contains("duplicate name", byClassFile["benign/x (1)_mask.png"]);
        Assert.Contains("no mask beside it in benign/: name its mask y_mask.*", byClassFile["benign/y.png"]);
        Assert.Contains("no image named y.* beside it in malignant/", byClassFile["malignant/y_mask.png"]);
        Assert.True(6 == byClassFile.Count, Describe(classReport));
    }

    [Fact]
    public void TwoFoldersForOneRoleAreAnAmbiguityReportedByName()
    {
        using var images = new TempDir();
        WritePair(images.Path, "images/a.png", "masks/a.png");
        WritePair(images.Path, "img/a.png", null);
        var report = DatasetScanner.Scan(images.Path);
        Assert.Empty(report.Pairs);
        Assert.Equal(["images/", "img/"], report.Problems.Select(p => p.File));
        Assert.All(report.Problems, p => Assert.Contains("ambiguous image folder: images/ and img/ could each be the image folder", p.Problem));

        using var masks = new TempDir();
        WritePair(masks.Path, "data/images/a.png", "data/masks/a.png");
        WritePair(masks.Path, "data/input/b.png", "data/Ground_Truth/a.png");
        var maskReport = DatasetScanner.Scan(masks.Path);
        Assert.Empty(maskReport.Pairs);
        Assert.Equal(["data/Ground_Truth/", "data/images/", "data/input/", "data/masks/"], maskReport.Problems.Select(p => p.File));
        Assert.Contains("data/Ground_Truth/ and data/masks/ could each be the mask folder", maskReport.Problems[0].Problem);

        // Two dataset folders side by side: which one is meant is not guessed either.
        using var two = new TempDir();
        WritePair(two.Path, "kvasir/images/a.png", "kvasir/masks/a.png");
        WritePair(two.Path, "busi/images/a.png", "busi/masks/a.png");
        Assert.Contains("several folders hold image or mask folders (busi/, kvasir/)", Assert.Single(DatasetScanner.Scan(two.Path).Problems).Problem);

        // An image folder alone holds its masks beside the images.
        using var alone = new TempDir();
        WritePair(alone.Path, "Images/a (1).png", "Images/a (1) mask.png");
        var aloneReport = DatasetScanner.Scan(alone.Path);
        Assert.True(aloneReport.Problems.Count == 0, Describe(aloneReport));
        Assert.Equal("a (1)", Assert.Single(aloneReport.Pairs).Name);
    }
}
