using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace MedSeg.Engine.Data;

/// <summary>
/// Pairs <c>images/X.*</c> with <c>masks/X.*</c> under a dataset root (or one folder below it, as in an archive with
/// one top folder), decodes every file in parallel and reports every problem found, each with the file relative to
/// <c>root</c> and what to do about it. Never stops at the first problem. Masks are binary or label maps (see
/// <see cref="MaskReader"/>); <see cref="ScanReport.Classes"/> is the dataset's class count. Every file is an input from
/// outside: its size, content and header are checked against <see cref="ImageLimits"/> before it is read whole or decoded.
/// </summary>
public static class DatasetScanner
{
    private static readonly HashSet<string> SystemFiles =
        new(["Thumbs.db", "desktop.ini", "ehthumbs.db", "Icon\r", "__MACOSX"], StringComparer.OrdinalIgnoreCase);

    public static ScanReport Scan(string root, CancellationToken ct = default) => Scan(root, allowLabelMaps: true, ImageLimits.Default, ct);

    public static ScanReport Scan(string root, bool allowLabelMaps, CancellationToken ct = default) =>
        Scan(root, allowLabelMaps, ImageLimits.Default, ct);

    /// <param name="allowLabelMaps">false: binary masks only; a label map is a problem of its file (never binarised), as
    /// for the web app's uploads, which train binary models.</param>
    /// <param name="limits">Per-image limits (the web app passes its configured ones; the CLI <see cref="ImageLimits.Default"/>).</param>
    public static ScanReport Scan(string root, bool allowLabelMaps, ImageLimits limits, CancellationToken ct = default)
    {
        var problems = new ConcurrentBag<DatasetProblem>();
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root))
            return new ScanReport([], [new DatasetProblem("", $"the dataset folder '{root}' does not exist.")]);

        var baseDir = FindBase(root);
        if (baseDir is null)
            return new ScanReport([], [new DatasetProblem("",
                "no images/ and masks/ folders found at the top of the dataset (or one folder below it). " +
                "Put the images in images/ and the masks, with the same file names, in masks/.")]);

        var imagesDir = FindChild(baseDir, "images")!;
        var masksDir = FindChild(baseDir, "masks")!;
        string Rel(string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

        var images = ListImages(imagesDir, Rel, problems);
        var masks = ListImages(masksDir, Rel, problems);
        var imageFolder = Rel(imagesDir) + "/";
        var maskFolder = Rel(masksDir) + "/";

        var jobs = new List<(string Name, string Image, string Mask)>();
        foreach (var (stem, files) in images.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (files.Count > 1) continue; // reported by ListImages
            if (!masks.TryGetValue(stem, out var maskFiles))
            {
                problems.Add(new DatasetProblem(Rel(files[0]),
                    $"no mask named {stem}.* in {maskFolder}; add the mask with the same file name (any of PNG, TIFF, BMP, JPEG) or remove the image."));
                continue;
            }
            if (maskFiles.Count > 1) continue;
            jobs.Add((stem, files[0], maskFiles[0]));
        }
        foreach (var (stem, files) in masks)
        {
            if (!images.ContainsKey(stem))
                foreach (var f in files)
                    problems.Add(new DatasetProblem(Rel(f),
                        $"no image named {stem}.* in {imageFolder}; add the image with the same file name or remove the mask."));
        }

        var pairs = new ScannedPair?[jobs.Count];
        var labelSets = new uint[jobs.Count];
        Parallel.For(0, jobs.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => pairs[i] = CheckPair(jobs[i].Name, jobs[i].Image, jobs[i].Mask, Rel, problems, allowLabelMaps, limits, out labelSets[i]));
        ct.ThrowIfCancellationRequested();

        var valid = pairs.Where(p => p is not null).Select(p => p!).ToList();
        var classes = CheckClasses(valid, labelSets.Where((_, i) => pairs[i] is not null).ToList(), Rel, maskFolder, problems);
        if (classes > 1)
            valid = [.. valid.Where(p => p.MaskEncoding is not (MaskEncoding.Binary255 or MaskEncoding.Lossy))];
        if (jobs.Count == 0 && images.Count == 0)
            problems.Add(new DatasetProblem(imageFolder, "the dataset has no images: put image files (PNG, JPEG, TIFF or BMP) in images/ and their masks in masks/."));
        else if (jobs.Count == 0)
            problems.Add(new DatasetProblem(imageFolder, "no image has a mask with the same file name, so the dataset has no pairs."));

        var sorted = problems.OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Problem, StringComparer.Ordinal).ToList();
        return new ScanReport(valid, sorted, classes);
    }

    /// <summary>
    /// The dataset's class count: 1 (binary) unless some mask is a label map; then K = 1 + the largest label, and every
    /// mask must fit a label map: 0/255 masks and JPEG masks are refused by name, and labels 1 … K − 1 must all occur.
    /// </summary>
    private static int CheckClasses(IReadOnlyList<ScannedPair> pairs, IReadOnlyList<uint> labelSets, Func<string, string> rel,
        string maskFolder, ConcurrentBag<DatasetProblem> problems)
    {
        var labelMaps = pairs.Where(p => p.MaskEncoding == MaskEncoding.LabelMap).ToList();
        if (labelMaps.Count == 0) return 1;
        var maxLabel = labelMaps.Max(p => p.MaxLabel);
        var example = labelMaps.Where(p => p.MaxLabel == maxLabel).MinBy(p => p.Name, StringComparer.Ordinal)!;
        var because = $"the dataset is multi-class ({rel(example.MaskPath)} is a label map with labels up to {maxLabel}, so {maxLabel + 1} classes with background)";
        foreach (var p in pairs)
        {
            if (p.MaskEncoding == MaskEncoding.Binary255)
                problems.Add(new DatasetProblem(rel(p.MaskPath),
                    $"the mask holds 0 and 255 (a binary mask), but {because}; write this mask's foreground as its class label (1 … {maxLabel}) instead of 255."));
            else if (p.MaskEncoding == MaskEncoding.Lossy)
                problems.Add(new DatasetProblem(rel(p.MaskPath),
                    $"the mask is a JPEG, whose lossy compression changes label values, but {because}; save the label map as PNG (or TIFF, BMP)."));
        }
        uint used = 0;
        foreach (var set in labelSets) used |= set;
        var missing = Enumerable.Range(1, maxLabel - 1).Where(l => (used & (1u << l)) == 0).ToList();
        if (missing.Count > 0)
            problems.Add(new DatasetProblem(maskFolder,
                $"label{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} occur{(missing.Count > 1 ? "" : "s")} in no mask, but {because}; " +
                $"the labels of a label map must run 0 … K − 1 without gaps: renumber the classes 1, 2, … in order."));
        return maxLabel + 1;
    }

    private static ScannedPair? CheckPair(string name, string imagePath, string maskPath, Func<string, string> rel,
        ConcurrentBag<DatasetProblem> problems, bool allowLabelMaps, ImageLimits limits, out uint labelSet)
    {
        labelSet = 0;
        var image = Load(imagePath, rel, problems, limits);
        var mask = Load(maskPath, rel, problems, limits);
        if (image is null || mask is null) return null;

        var ok = true;
        if (image.Value.Raster.Width != mask.Value.Raster.Width || image.Value.Raster.Height != mask.Value.Raster.Height)
        {
            problems.Add(new DatasetProblem(rel(maskPath),
                $"the mask is {mask.Value.Raster.Width}×{mask.Value.Raster.Height} but its image {rel(imagePath)} is " +
                $"{image.Value.Raster.Width}×{image.Value.Raster.Height}; a mask must have exactly the size of its image (do not resize one of them alone)."));
            ok = false;
        }
        var (content, problem) = MaskReader.Inspect(mask.Value.Raster);
        if (content is null)
        {
            problems.Add(new DatasetProblem(rel(maskPath), problem!));
            ok = false;
        }
        else if (content.Encoding == MaskEncoding.LabelMap && !allowLabelMaps)
        {
            problems.Add(new DatasetProblem(rel(maskPath), MaskReader.Binarise(mask.Value.Raster).Problem +
                " Binarise it (foreground → 255), or train a multi-class dataset with 'medseg train', which reads label maps."));
            ok = false;
        }
        if (!ok) return null;
        labelSet = content!.LabelSet;
        return new ScannedPair(name, imagePath, maskPath, image.Value.Raster.Width, image.Value.Raster.Height,
            image.Value.Raster.Bands, content.Labels.ForegroundFraction, image.Value.Sha256, mask.Value.Sha256,
            content.Encoding, content.MaxLabel);
    }

    private static (Raster Raster, string Sha256)? Load(string path, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems,
        ImageLimits limits)
    {
        try
        {
            if (new FileInfo(path).Length == 0)
            {
                problems.Add(new DatasetProblem(rel(path), "the file is empty (0 bytes); upload it again or remove it."));
                return null;
            }
            var bytes = ImageDecoder.ReadFile(path, limits);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            return (ImageDecoder.Decode(bytes, limits, path), sha);
        }
        catch (ImageRefusedException e)
        {
            problems.Add(new DatasetProblem(rel(path), e.Message));
        }
        catch (InvalidDataException e)
        {
            problems.Add(new DatasetProblem(rel(path), $"unreadable: {e.Message} Re-export the file or remove it with its partner."));
        }
        catch (IOException e)
        {
            problems.Add(new DatasetProblem(rel(path), $"unreadable: {e.Message}"));
        }
        return null;
    }

    /// <summary>Image files of a folder by stem (case-sensitive); reports unsupported files, subfolders and duplicate stems.</summary>
    private static Dictionary<string, List<string>> ListImages(string dir, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems)
    {
        var byStem = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(entry);
            if (IsHiddenOrSystem(entry, fileName)) continue;
            if (Directory.Exists(entry))
            {
                problems.Add(new DatasetProblem(rel(entry) + "/",
                    "subfolders are not read; move these files up into the folder above, or remove the subfolder."));
                continue;
            }
            var ext = Path.GetExtension(fileName);
            if (!ImageDecoder.Extensions.Contains(ext))
            {
                problems.Add(new DatasetProblem(rel(entry),
                    $"unsupported file type '{(ext.Length == 0 ? "(no extension)" : ext)}'; MedSeg reads PNG, JPEG, TIFF and BMP. Convert the file or remove it."));
                continue;
            }
            var stem = Path.GetFileNameWithoutExtension(fileName);
            if (!byStem.TryGetValue(stem, out var list)) byStem[stem] = list = [];
            list.Add(entry);
        }
        foreach (var (stem, files) in byStem.Where(kv => kv.Value.Count > 1))
        {
            var names = string.Join(" and ", files.Select(rel));
            foreach (var f in files)
                problems.Add(new DatasetProblem(rel(f),
                    $"duplicate name: {names} share the name '{stem}', so the pairing is ambiguous; keep only one of them."));
        }
        return byStem;
    }

    private static bool IsHiddenOrSystem(string path, string fileName)
    {
        if (fileName.StartsWith('.') || SystemFiles.Contains(fileName)) return true;
        try
        {
            return (File.GetAttributes(path) & (FileAttributes.Hidden | FileAttributes.System)) != 0;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string? FindBase(string root)
    {
        if (FindChild(root, "images") is not null && FindChild(root, "masks") is not null) return root;
        var candidates = Directory.EnumerateDirectories(root)
            .Where(d => !IsHiddenOrSystem(d, Path.GetFileName(d)))
            .Where(d => FindChild(d, "images") is not null && FindChild(d, "masks") is not null)
            .ToList();
        return candidates.Count == 1 ? candidates[0] : null;
    }

    private static string? FindChild(string dir, string name) =>
        Directory.EnumerateDirectories(dir).FirstOrDefault(d => string.Equals(Path.GetFileName(d), name, StringComparison.OrdinalIgnoreCase));
}
