using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace MedSeg.Engine.Data;

/// <summary>
/// Pairs <c>images/X.*</c> with <c>masks/X.*</c> under a dataset root (or one folder below it, as in an archive with
/// one top folder), decodes every file in parallel and reports every problem found, each with the file relative to
/// <c>root</c> and what to do about it. Never stops at the first problem.
/// </summary>
public static class DatasetScanner
{
    private static readonly HashSet<string> SystemFiles =
        new(["Thumbs.db", "desktop.ini", "ehthumbs.db", "Icon\r", "__MACOSX"], StringComparer.OrdinalIgnoreCase);

    public static ScanReport Scan(string root, CancellationToken ct = default)
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
        Parallel.For(0, jobs.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => pairs[i] = CheckPair(jobs[i].Name, jobs[i].Image, jobs[i].Mask, Rel, problems));
        ct.ThrowIfCancellationRequested();

        var valid = pairs.Where(p => p is not null).Select(p => p!).ToList();
        if (jobs.Count == 0 && images.Count == 0)
            problems.Add(new DatasetProblem(imageFolder, "the dataset has no images: put image files (PNG, JPEG, TIFF or BMP) in images/ and their masks in masks/."));
        else if (jobs.Count == 0)
            problems.Add(new DatasetProblem(imageFolder, "no image has a mask with the same file name, so the dataset has no pairs."));

        var sorted = problems.OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Problem, StringComparer.Ordinal).ToList();
        return new ScanReport(valid, sorted);
    }

    private static ScannedPair? CheckPair(string name, string imagePath, string maskPath, Func<string, string> rel,
        ConcurrentBag<DatasetProblem> problems)
    {
        var image = Load(imagePath, rel, problems);
        var mask = Load(maskPath, rel, problems);
        if (image is null || mask is null) return null;

        var ok = true;
        if (image.Value.Raster.Width != mask.Value.Raster.Width || image.Value.Raster.Height != mask.Value.Raster.Height)
        {
            problems.Add(new DatasetProblem(rel(maskPath),
                $"the mask is {mask.Value.Raster.Width}×{mask.Value.Raster.Height} but its image {rel(imagePath)} is " +
                $"{image.Value.Raster.Width}×{image.Value.Raster.Height}; a mask must have exactly the size of its image (do not resize one of them alone)."));
            ok = false;
        }
        var (binary, problem) = MaskReader.Binarise(mask.Value.Raster);
        if (binary is null)
        {
            problems.Add(new DatasetProblem(rel(maskPath), problem!));
            ok = false;
        }
        if (!ok) return null;
        return new ScannedPair(name, imagePath, maskPath, image.Value.Raster.Width, image.Value.Raster.Height,
            image.Value.Raster.Bands, binary!.ForegroundFraction, image.Value.Sha256, mask.Value.Sha256);
    }

    private static (Raster Raster, string Sha256)? Load(string path, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            if (bytes.Length == 0)
            {
                problems.Add(new DatasetProblem(rel(path), "the file is empty (0 bytes); upload it again or remove it."));
                return null;
            }
            return (ImageDecoder.Decode(bytes), sha);
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
