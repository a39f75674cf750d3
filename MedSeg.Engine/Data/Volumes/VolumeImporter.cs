using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;

namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// Which slices without foreground (every label 0) a volume import keeps. <see cref="KeepEvery"/> 1 keeps them all
/// (<c>keep</c>), 0 none (<c>drop</c>), N ≥ 2 every Nth (<c>every-N</c>): the empty slices of each volume are counted in slice
/// order from 0, and those whose count is a multiple of N are kept (the first, the (N + 1)th, …). Slices with foreground are
/// always kept.
/// </summary>
public sealed record EmptySliceRule(int KeepEvery)
{
    public static EmptySliceRule Keep { get; } = new(1);
    public static EmptySliceRule Drop { get; } = new(0);

    /// <summary>The largest N of <c>every-N</c>.</summary>
    public const int MaxEvery = 1000;

    /// <summary><c>keep</c>, <c>drop</c> or <c>every-N</c>.</summary>
    public string Text => KeepEvery switch { 1 => "keep", 0 => "drop", _ => $"every-{KeepEvery}" };

    /// <summary>Whether the empty slice that is the <paramref name="ordinal"/>th (from 0) of its volume is kept.</summary>
    public bool Keeps(int ordinal) => KeepEvery == 1 || (KeepEvery > 1 && ordinal % KeepEvery == 0);

    /// <summary>Parses <c>keep</c> (also empty), <c>drop</c> or <c>every-N</c> (2 ≤ N ≤ <see cref="MaxEvery"/>); null when it is
    /// none of them.</summary>
    public static EmptySliceRule? Parse(string? text)
    {
        var t = text?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(t) || t == "keep") return Keep;
        if (t == "drop") return Drop;
        if (t.StartsWith("every-", StringComparison.Ordinal) &&
            int.TryParse(t["every-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxEvery)
            return n == 1 ? Keep : new EmptySliceRule(n);
        return null;
    }
}

/// <summary>How a volume dataset is cut into 2D cases: the canonical axis (<see cref="SliceAxis.Auto"/>: each volume's
/// coarsest) and which empty slices are kept.</summary>
public sealed record VolumeImportOptions(SliceAxis Axis, EmptySliceRule EmptySlices)
{
    public static VolumeImportOptions Default { get; } = new(SliceAxis.Auto, EmptySliceRule.Keep);

    /// <summary>The names the <c>axis</c> option takes: auto, axial, coronal, sagittal.</summary>
    public static string AxisName(SliceAxis axis) => axis.ToString().ToLowerInvariant();

    /// <summary>Parses the <c>axis</c> and <c>emptySlices</c> options (null or empty: the default), or says which is wrong.</summary>
    public static (VolumeImportOptions? Options, IReadOnlyList<DatasetProblem> Problems) Parse(string? axis, string? emptySlices)
    {
        var problems = new List<DatasetProblem>();
        SliceAxis? a = axis?.Trim().ToLowerInvariant() switch
        {
            null or "" or "auto" => SliceAxis.Auto,
            "axial" => SliceAxis.Axial,
            "coronal" => SliceAxis.Coronal,
            "sagittal" => SliceAxis.Sagittal,
            _ => null,
        };
        if (a is null)
            problems.Add(new DatasetProblem("axis", $"'{axis!.Trim()}' is not a slice axis; use auto (the coarsest spacing), axial, coronal or sagittal."));
        var rule = EmptySliceRule.Parse(emptySlices);
        if (rule is null)
            problems.Add(new DatasetProblem("emptySlices", $"'{emptySlices!.Trim()}' is not an empty-slice rule; use keep, drop or every-N " +
                $"(e.g. every-4: keep every 4th slice without foreground, N up to {EmptySliceRule.MaxEvery})."));
        return problems.Count > 0 ? (null, problems) : (new VolumeImportOptions(a!.Value, rule!), []);
    }
}

/// <summary>One 2D case cut from a volume: the pair as the 2D scanner describes one (image TIFF, label PNG), the volume it
/// came from (<see cref="GroupKey"/> = case id), its index along the canonical axis and the in-plane spacing in mm.</summary>
public sealed record SlicedCase(ScannedPair Pair, string GroupKey, int SliceIndex, double SpacingX, double SpacingY);

/// <summary>What one training volume gave: its files (relative to the dataset root), stored shape, spacing (mm), orientation
/// code (e.g. "RAS"), the axis it was cut along, how many slices it has and how many were kept.</summary>
public sealed record SlicedVolume(string Id, IReadOnlyList<string> Images, string Label, int[] Shape, double[] Spacing, string Orientation,
    SliceAxis Axis, int Slices, int Kept);

/// <summary>The range of one channel's values over every training volume (as stored, after scl_slope/scl_inter), and the
/// range without values ≤ <see cref="VolumeImporter.CtPaddingBelow"/> (CT's padding outside the field of view).</summary>
public sealed record ChannelRange(string Name, float Min, float Max, float MinAbovePadding);

/// <param name="Classes">The model's classes: 1 for a binary dataset (labels 0 and 1), else K = 1 + the largest label value
/// dataset.json lists.</param>
/// <param name="CtChannels">The channels that look like CT: named CT, values within about −1024 … 3071 HU.</param>
public sealed record VolumeImport(IReadOnlyList<SlicedCase> Cases, IReadOnlyList<SlicedVolume> Volumes, IReadOnlyList<ChannelRange> Channels,
    int Classes, IReadOnlyList<int> CtChannels, IReadOnlyList<DatasetProblem> Problems);

/// <summary>
/// Cuts the training volumes of a scanned Decathlon / nnU-Net dataset (<see cref="VolumeDatasetScanner"/>) into 2D cases:
/// each slice along the chosen canonical axis (<see cref="VolumeSlicer"/>, RAS+, not mirrored) becomes
/// <c>&lt;caseId&gt;_s&lt;index:000&gt;</c>, its image a float32 TIFF of the intensities as stored (several channels → one
/// multi-band TIFF, <see cref="MultibandTiff"/>), its label an 8-bit PNG label map (values 0 … K − 1 as in the volume).
/// </summary>
public static class VolumeImporter
{
    /// <summary>Values at or below this are taken as CT padding outside the field of view (scanners write −2048 or −3024).</summary>
    public const float CtPaddingBelow = -2000;

    /// <summary>A channel looks like CT when it is named CT and its values (padding aside) lie in −1024 … 3071 HU, with this much
    /// slack at either end (rescaled files, a little metal).</summary>
    public const float CtSlack = 100;

    /// <summary>Writes every kept slice into <paramref name="imagesDir"/> (<c>.tif</c>) and <paramref name="masksDir"/>
    /// (<c>.png</c>). Problems: a label value above <see cref="MaskReader.MaxLabel"/>, a volume that stopped reading, and no
    /// slice kept at all. Volumes are read again here (the scanner read them whole once), one per core at a time.</summary>
    public static VolumeImport Import(VolumeDatasetReport report, string root, VolumeImportOptions options, string imagesDir, string masksDir,
        VolumeLimits? limits = null, CancellationToken ct = default)
    {
        limits ??= VolumeLimits.Default;
        root = Path.GetFullPath(root);
        string Rel(string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
        var problems = new ConcurrentBag<DatasetProblem>();
        var maxLabel = report.Classes.Keys.DefaultIfEmpty(0).Max();
        if (maxLabel > MaskReader.MaxLabel)
            return new VolumeImport([], [], [], 0, [], [new DatasetProblem(VolumeDatasetScanner.DatasetJson,
                $"the labels go up to {maxLabel}; MedSeg trains at most {MaskReader.MaxLabel + 1} classes (labels 0 … {MaskReader.MaxLabel}). " +
                "Merge classes or split the dataset.")]);
        var classes = maxLabel <= 1 ? 1 : maxLabel + 1;
        Directory.CreateDirectory(imagesDir);
        Directory.CreateDirectory(masksDir);

        var channels = report.ChannelNames.Count;
        var cases = new List<SlicedCase>[report.Training.Count];
        var volumes = new SlicedVolume?[report.Training.Count];
        var ranges = new (float Min, float Max, float Above)[report.Training.Count][];
        Parallel.For(0, report.Training.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var c = report.Training[i];
            try
            {
                (cases[i], volumes[i], ranges[i]) = ImportCase(c, channels, options, imagesDir, masksDir, limits, Rel);
            }
            catch (VolumeRefusedException e)
            {
                problems.Add(new DatasetProblem(e.File, e.Problem));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                problems.Add(new DatasetProblem(Rel(c.ChannelFiles[0]), $"case {c.Id} could not be sliced: {e.Message}"));
            }
        });
        ct.ThrowIfCancellationRequested();
        var all = cases.Where(c => c is not null).SelectMany(c => c).ToList();
        if (problems.IsEmpty && all.Count == 0)
            problems.Add(new DatasetProblem("emptySlices", $"no slice is left: every slice of every volume is empty and the rule is " +
                $"'{options.EmptySlices.Text}'; use keep or every-N, or check the labels."));

        var channelRanges = Enumerable.Range(0, channels).Select(ch =>
        {
            var r = ranges.Where(x => x is not null).Select(x => x[ch]).ToList();
            return r.Count == 0 ? new ChannelRange(report.ChannelNames[ch], 0, 0, 0)
                : new ChannelRange(report.ChannelNames[ch], r.Min(x => x.Min), r.Max(x => x.Max), r.Min(x => x.Above));
        }).ToList();
        var ctChannels = channelRanges.Select((r, ch) => (r, ch))
            .Where(x => string.Equals(x.r.Name.Trim(), "CT", StringComparison.OrdinalIgnoreCase) &&
                        x.r.MinAbovePadding >= -1024 - CtSlack && x.r.Max <= 3071 + CtSlack)
            .Select(x => x.ch).ToList();
        return new VolumeImport([.. all.OrderBy(c => c.Pair.Name, StringComparer.Ordinal)], [.. volumes.Where(v => v is not null).Select(v => v!)],
            channelRanges, classes, ctChannels, [.. problems.OrderBy(p => p.File, StringComparer.Ordinal)]);
    }

    private static (List<SlicedCase>, SlicedVolume, (float, float, float)[]) ImportCase(VolumeCase c, int channels, VolumeImportOptions options,
        string imagesDir, string masksDir, VolumeLimits limits, Func<string, string> rel)
    {
        // One file (3D, or 4D with every channel) or one file per channel; the scanner checked that they share one grid.
        var files = c.ChannelFiles.Select(f => NiftiVolume.Read(f, limits, rel(f))).ToList();
        var header = files[0].Header;
        var label = NiftiVolume.Read(c.LabelFile!, limits, rel(c.LabelFile!));
        var axis = VolumeSlicer.Resolve(header, options.Axis);
        var perFile = files.Select(f => VolumeSlicer.Slice(f, axis, c.Id)).ToList();
        var labelSlices = VolumeSlicer.Slice(label, axis, c.Id);
        var ranges = files.SelectMany(f => Ranges(f.Voxels, f.Channels)).ToArray();
        var result = new List<SlicedCase>();
        var empties = 0;
        for (var k = 0; k < labelSlices.Count; k++)
        {
            var labels = labelSlices[k].Image;
            var (w, h) = (labels.Width, labels.Height);
            var mask = new byte[w * h];
            uint set = 0;
            var foreground = 0;
            for (var p = 0; p < mask.Length; p++)
            {
                var v = (int)labels.Pixels[p]; // whole values in 0 … 31: the scanner and Import checked them
                mask[p] = (byte)v;
                if (v == 0) continue;
                set |= 1u << v;
                foreground++;
            }
            if (foreground == 0 && !options.EmptySlices.Keeps(empties++)) continue;
            var name = $"{c.Id}_s{k:000}";
            var tiff = MultibandTiff.Encode(Interleave(perFile.Select(s => s[k].Image).ToList(), channels), w, h, channels);
            var png = ImageDecoder.EncodePng(mask, w, h, 1);
            var imagePath = Path.Combine(imagesDir, name + ".tif");
            var maskPath = Path.Combine(masksDir, name + ".png");
            File.WriteAllBytes(imagePath, tiff);
            File.WriteAllBytes(maskPath, png);
            var max = set == 0 ? 0 : 31 - System.Numerics.BitOperations.LeadingZeroCount(set);
            var encoding = set == 0 ? MaskEncoding.Empty : max == 1 ? MaskEncoding.Binary01 : MaskEncoding.LabelMap;
            var pair = new ScannedPair(name, imagePath, maskPath, w, h, channels, (double)foreground / mask.Length,
                Convert.ToHexStringLower(SHA256.HashData(tiff)), Convert.ToHexStringLower(SHA256.HashData(png)), encoding, max) { LabelSet = set };
            var slice = labelSlices[k];
            result.Add(new SlicedCase(pair, c.Id, k, SpacingX: slice.ColumnSpacing, SpacingY: slice.RowSpacing));
        }
        var volume = new SlicedVolume(c.Id, [.. c.ChannelFiles.Select(rel)], rel(c.LabelFile!), [header.Shape.X, header.Shape.Y, header.Shape.Z],
            [header.Spacing.X, header.Spacing.Y, header.Spacing.Z], header.Orientation.Codes, axis, labelSlices.Count, result.Count);
        return (result, volume, ranges);
    }

    /// <summary>The pixels of one slice with every channel interleaved: one raster that has them all, or one raster per channel.</summary>
    private static float[] Interleave(IReadOnlyList<Raster> parts, int channels)
    {
        if (parts.Count == 1) return parts[0].Pixels;
        var n = parts[0].Width * parts[0].Height;
        var pixels = new float[n * channels];
        for (var ch = 0; ch < channels; ch++)
        {
            var source = parts[ch].Pixels;
            for (var p = 0; p < n; p++) pixels[p * channels + ch] = source[p];
        }
        return pixels;
    }

    private static (float Min, float Max, float Above)[] Ranges(float[] voxels, int channels)
    {
        var n = voxels.Length / channels;
        var result = new (float, float, float)[channels];
        for (var ch = 0; ch < channels; ch++)
        {
            float min = float.PositiveInfinity, max = float.NegativeInfinity, above = float.PositiveInfinity;
            foreach (var v in voxels.AsSpan(ch * n, n))
            {
                if (v < min) min = v;
                if (v > max) max = v;
                if (v > CtPaddingBelow && v < above) above = v;
            }
            result[ch] = (min, max, float.IsPositiveInfinity(above) ? min : above);
        }
        return result;
    }
}
