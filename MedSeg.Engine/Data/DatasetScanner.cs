using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace MedSeg.Engine.Data;

/// <summary>
/// Finds a dataset's image and mask folders and pairs each image with its masks by <see cref="PairingRules"/> (images in
/// <c>images/</c> with masks of the same name in <c>masks/</c>, their aliases, mask suffixes such as <c>_mask</c>, images
/// and masks side by side in one folder per class), decodes every file in parallel and reports every problem found, each
/// with the file relative to <c>root</c> and what to do about it. Never stops at the first problem and never guesses: a
/// file the rules leave ambiguous is a problem. Several binary masks of one image are united into one PNG (see
/// <see cref="ScannedPair.MergedFrom"/>). Masks are binary or label maps (see <see cref="MaskReader"/>);
/// <see cref="ScanReport.Classes"/> is the dataset's class count. Every file is an input from outside: its size, content
/// and header are checked against <see cref="ImageLimits"/> before it is read whole or decoded.
/// </summary>
public static class DatasetScanner
{
    private static readonly HashSet<string> SystemFiles =
        new(["Thumbs.db", "desktop.ini", "ehthumbs.db", "Icon\r", "__MACOSX"], StringComparer.OrdinalIgnoreCase);

    public static ScanReport Scan(string root, CancellationToken ct = default) => Scan(root, allowLabelMaps: true, ImageLimits.Default, ct);

    public static ScanReport Scan(string root, bool allowLabelMaps, CancellationToken ct = default) =>
        Scan(root, allowLabelMaps, ImageLimits.Default, ct);

    public static ScanReport Scan(string root, bool allowLabelMaps, ImageLimits limits, CancellationToken ct = default) =>
        Scan(root, allowLabelMaps, limits, unitedMasks: null, ct);

    /// <param name="allowLabelMaps">false: binary masks only; a label map is a problem of its file (never binarised), as
    /// for the web app's uploads, which train binary models.</param>
    /// <param name="limits">Per-image limits (the web app passes its configured ones; the CLI <see cref="ImageLimits.Default"/>).</param>
    /// <param name="unitedMasks">The folder (outside <paramref name="root"/>) the union of an image's several masks is
    /// written to, as <c>&lt;name&gt;.png</c>: the web's staging folder, the CLI's run folder. null: a folder under the
    /// system's temporary folder named after <paramref name="root"/>. Only written to when some image has several masks.</param>
    public static ScanReport Scan(string root, bool allowLabelMaps, ImageLimits limits, string? unitedMasks, CancellationToken ct = default,
        Action<int, int>? progress = null) =>
        Scan(root, allowLabelMaps, limits, unitedMasks, colourMasks: null, ct, progress);

    /// <param name="colourMasks">null: a colour mask is a problem of its file. Otherwise colour (RGB, palette) masks with few
    /// colours are mapped to labels, one colour to one label over the whole dataset (<see cref="ColourMaskMapper"/>); their
    /// label-map PNGs are written to its folder and <see cref="ScanReport.ClassColours"/> keeps the colours.</param>
    /// <param name="progress">Called as pairs are checked, with (checked, total), from the decoding threads; null = none.</param>
    public static ScanReport Scan(string root, bool allowLabelMaps, ImageLimits limits, string? unitedMasks, ColourMaskOptions? colourMasks,
        CancellationToken ct = default, Action<int, int>? progress = null)
    {
        var problems = new ConcurrentBag<DatasetProblem>();
        root = Path.GetFullPath(root);
        if (!Directory.Exists(root))
            return new ScanReport([], [new DatasetProblem("", $"the dataset folder '{root}' does not exist.")]);
        unitedMasks = Path.GetFullPath(unitedMasks ?? DefaultUnitedMasks(root));
        string Rel(string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
        string Folder(string dir) => dir == root ? "the dataset's top folder" : Rel(dir) + "/"; // for messages
        string FolderFile(string dir) => dir == root ? "" : Rel(dir) + "/"; // for DatasetProblem.File

        var layout = FindLayout(root, Rel, problems);
        if (layout is null) return new ScanReport([], Sorted(problems));

        // Files by role: in a shared folder (no separate mask folder), a name that ends in a mask suffix is a mask.
        var read = layout.ImageFolders.ToHashSet();
        var imageFiles = new List<string>();
        var maskFiles = new List<string>();
        foreach (var folder in layout.ImageFolders)
            foreach (var file in ListImages(folder, read, Rel, problems))
                (layout.MaskFolder is null && PairingRules.IsMaskName(ImageDecoder.Stem(file)) ? maskFiles : imageFiles).Add(file);
        if (layout.MaskFolder is not null) maskFiles.AddRange(ListImages(layout.MaskFolder, read, Rel, problems));
        var images = ByStem(imageFiles, Rel, problems);
        var masks = ByStem(maskFiles, Rel, problems);
        var imageFolder = Folder(layout.ImageFolders[0]);

        // Each mask belongs to the one image its name gives by the rules; none or two is a problem of the mask.
        var found = new Dictionary<string, List<(string Rule, string Mask)>>(StringComparer.Ordinal);
        var settled = new HashSet<string>(StringComparer.Ordinal); // images whose masks are already reported
        foreach (var (stem, files) in masks.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var mask = files[0];
            var bySuffix = PairingRules.BySuffix(stem);
            List<(string Image, string Rule)> candidates = [];
            if (layout.MaskFolder is not null && images.ContainsKey(stem)) candidates.Add((stem, PairingRules.SameName));
            if (bySuffix is { } s && images.TryGetValue(s.ImageStem, out var partner) &&
                (layout.MaskFolder is not null || Path.GetDirectoryName(partner[0]) == Path.GetDirectoryName(mask)))
                candidates.Add((s.ImageStem, s.Suffix));
            if (files.Count > 1) // a duplicate name, reported by ByStem
            {
                settled.UnionWith(candidates.Select(c => c.Image));
                continue;
            }
            if (candidates.Count == 0)
            {
                problems.Add(new DatasetProblem(Rel(mask), NoImage(stem, bySuffix, layout.MaskFolder is null ? Folder(Path.GetDirectoryName(mask)!) : imageFolder,
                    shared: layout.MaskFolder is null)));
                continue;
            }
            if (candidates.Count > 1)
            {
                var (a, b) = (candidates[0], candidates[1]);
                problems.Add(new DatasetProblem(Rel(mask),
                    $"ambiguous mask: by {PairingRules.Describe(a.Rule)} it is the mask of {Rel(images[a.Image][0])}, and by " +
                    $"{PairingRules.Describe(b.Rule)} the mask of {Rel(images[b.Image][0])}; rename the mask or one of the images so that it names one image only."));
                settled.Add(a.Image);
                settled.Add(b.Image);
                continue;
            }
            var (image, rule) = candidates[0];
            if (!found.TryGetValue(image, out var list)) found[image] = list = [];
            list.Add((rule, mask));
        }

        var jobs = new List<(string Name, string Image, IReadOnlyList<string> Masks)>();
        foreach (var (stem, files) in images.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (files.Count > 1) continue; // reported by ByStem
            if (!found.TryGetValue(stem, out var list))
            {
                if (!settled.Contains(stem))
                    problems.Add(new DatasetProblem(Rel(files[0]), NoMask(stem, layout.MaskFolder is null ? Folder(Path.GetDirectoryName(files[0])!) : Folder(layout.MaskFolder),
                        shared: layout.MaskFolder is null)));
                continue;
            }
            var rules = list.Select(m => m.Rule).Distinct().ToList();
            if (rules.Count > 1)
            {
                var named = string.Join(" and ", list.OrderBy(m => m.Mask, StringComparer.Ordinal).Select(m => $"{Rel(m.Mask)} ({PairingRules.Describe(m.Rule)})"));
                problems.Add(new DatasetProblem(Rel(files[0]),
                    $"ambiguous masks: {named} name this image by more than one rule, and only the masks of one rule are united; " +
                    $"rename or remove the masks of all rules but one (e.g. keep {stem}_mask.png, {stem}_mask_1.png, …)."));
                continue;
            }
            if (settled.Contains(stem)) continue; // one of its masks is ambiguous, reported above
            jobs.Add((stem, files[0], [.. list.Select(m => m.Mask).Order(StringComparer.Ordinal)]));
        }

        var pairs = new ScannedPair?[jobs.Count];
        var labelSets = new uint[jobs.Count];
        var checkedPairs = 0;
        progress?.Invoke(0, jobs.Count);
        Parallel.For(0, jobs.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount },
            i =>
            {
                pairs[i] = CheckPair(jobs[i].Name, jobs[i].Image, jobs[i].Masks, Rel, problems, allowLabelMaps, limits, unitedMasks,
                    colourMasks is not null, out labelSets[i]);
                progress?.Invoke(Interlocked.Increment(ref checkedPairs), jobs.Count);
            });
        ct.ThrowIfCancellationRequested();
        IReadOnlyList<string>? classColours = null;
        if (colourMasks is not null && pairs.Any(p => p?.MaskEncoding == MaskEncoding.Colour))
            classColours = MapColours(pairs, labelSets, colourMasks, allowLabelMaps, Rel, FolderFile(layout.MaskFolder ?? layout.Base), problems, ct);

        for (var i = 0; i < pairs.Length; i++)
            if (pairs[i] is { } pair) pairs[i] = pair with { LabelSet = labelSets[i] };
        var valid = pairs.Where(p => p is not null).Select(p => p!).ToList();
        var maskFolder = FolderFile(layout.MaskFolder ?? layout.Base);
        var classes = CheckClasses(valid, labelSets.Where((_, i) => pairs[i] is not null).ToList(), Rel, maskFolder, problems);
        if (classes > 1)
            valid = [.. valid.Where(p => p.MaskEncoding is not (MaskEncoding.Binary255 or MaskEncoding.Lossy))];
        if (jobs.Count == 0 && images.Count == 0)
            problems.Add(new DatasetProblem(FolderFile(layout.ImageFolders[0]),
                "the dataset has no images: put image files (PNG, JPEG, TIFF, BMP or DICOM) in images/ and their masks in masks/."));
        else if (jobs.Count == 0)
            problems.Add(new DatasetProblem(FolderFile(layout.ImageFolders[0]),
                "no image has a mask by the pairing rules (the same file name in masks/, or a mask suffix such as _mask), so the dataset has no pairs."));

        return new ScanReport(valid, Sorted(problems), classes) { ClassColours = classColours };
    }

    /// <summary>A dataset with colour masks: every mask is read by its colours (grey v as (v, v, v)) and replaced by a label
    /// map written to <see cref="ColourMaskOptions.Folder"/>, one colour one label for every file. Returns the colour of each
    /// label.</summary>
    private static IReadOnlyList<string>? MapColours(ScannedPair?[] pairs, uint[] labelSets, ColourMaskOptions options, bool allowLabelMaps,
        Func<string, string> rel, string maskFolder, ConcurrentBag<DatasetProblem> problems, CancellationToken ct)
    {
        for (var i = 0; i < pairs.Length; i++)
        {
            if (pairs[i] is not { MaskEncoding: MaskEncoding.Lossy } p) continue;
            foreach (var file in p.MaskFiles)
                problems.Add(new DatasetProblem(rel(file),
                    "the mask is a JPEG, but the dataset's masks are colour masks (mapped to labels by their colours), and JPEG's lossy " +
                    "compression changes colours; save every mask as PNG."));
            pairs[i] = null;
        }
        var table = options.Table ?? ColourMaskMapper.Table(pairs.Where(p => p?.Colours is not null).Select(p => p!.Colours!));
        if (table.Count > ColourMaskMapper.MaxColours)
        {
            problems.Add(new DatasetProblem(maskFolder,
                $"the colour masks hold {table.Count} different colours together ({string.Join(", ", table.Take(6).Select(ColourMaskMapper.Hex))}, …), " +
                $"more than the {ColourMaskMapper.MaxColours} classes a dataset may have; use one colour per class in every mask."));
            return null;
        }
        Directory.CreateDirectory(options.Folder);
        var hex = table.Select(ColourMaskMapper.Hex).ToList();
        Parallel.For(0, pairs.Length, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            if (pairs[i] is not { } p) return;
            var raster = ImageDecoder.DecodeFile(p.MaskPath); // checked by the first pass (or written by it: a union)
            var (labels, unknown) = ColourMaskMapper.Map(raster, table);
            if (labels is null)
            {
                foreach (var file in p.MaskFiles)
                    problems.Add(new DatasetProblem(rel(file),
                        $"the mask holds the colour {(unknown is >= 0 ? ColourMaskMapper.Hex(unknown.Value) : "(not 8-bit)")}, which is no class of the class map " +
                        $"({string.Join(", ", hex.Select((c, k) => $"{k}: {c}"))}); add it to 'classes' or repaint those pixels with a class's colour."));
                pairs[i] = null;
                return;
            }
            uint set = 0;
            long foreground = 0;
            foreach (var v in labels)
                if (v != 0) (set, foreground) = (set | 1u << v, foreground + 1);
            var max = set == 0 ? 0 : 31 - System.Numerics.BitOperations.LeadingZeroCount(set);
            var encoding = max switch { 0 => MaskEncoding.Empty, 1 => MaskEncoding.Binary01, _ => MaskEncoding.LabelMap };
            if (encoding == MaskEncoding.LabelMap && !allowLabelMaps)
            {
                foreach (var file in p.MaskFiles)
                    problems.Add(new DatasetProblem(rel(file), $"the colour mask holds {max + 1} classes with background, but only binary masks are accepted here."));
                pairs[i] = null;
                return;
            }
            var png = ImageDecoder.EncodePng(labels, raster.Width, raster.Height, 1);
            var path = Path.Combine(options.Folder, p.Name + ".png");
            File.WriteAllBytes(path, png);
            labelSets[i] = set;
            pairs[i] = p with
            {
                MaskPath = path, MaskSha256 = Convert.ToHexStringLower(SHA256.HashData(png)), MaskEncoding = encoding, MaxLabel = max,
                ForegroundFraction = labels.Length == 0 ? 0 : (double)foreground / labels.Length,
                MappedFrom = p.MergedFrom is null ? p.MaskPath : null, LabelSet = set,
            };
        });
        ct.ThrowIfCancellationRequested();
        return hex;
    }

    private static List<DatasetProblem> Sorted(IEnumerable<DatasetProblem> problems) =>
        [.. problems.OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Problem, StringComparer.Ordinal)];

    private static string DefaultUnitedMasks(string root) =>
        Path.Combine(Path.GetTempPath(), "medseg-united-masks",
            Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(root)))[..16]);

    private static string NoMask(string stem, string maskFolder, bool shared) => shared
        ? $"no mask beside it in {maskFolder}: name its mask {stem}_mask.* (or {stem} with another mask suffix: {PairingRules.SuffixList}; " +
          "any of PNG, TIFF, BMP, JPEG) or remove the image."
        : $"no mask named {stem}.* in {maskFolder} (nor {stem}_mask.* or {stem} with another mask suffix: {PairingRules.SuffixList}); " +
          "add the mask with the same file name (any of PNG, TIFF, BMP, JPEG) or remove the image.";

    private static string NoImage(string stem, (string ImageStem, string Suffix)? bySuffix, string imageFolder, bool shared) => (shared, bySuffix) switch
    {
        (true, { } s) => $"no image named {s.ImageStem}.* beside it in {imageFolder}, which its suffix '{s.Suffix}' names; " +
                         "add the image or rename the mask after its image, or remove the mask.",
        (false, { } s) => $"no image named {stem}.* in {imageFolder} (nor {s.ImageStem}.*, which its suffix '{s.Suffix}' names); " +
                          "add the image with the same file name or remove the mask.",
        _ => $"no image named {stem}.* in {imageFolder}; add the image with the same file name or remove the mask.",
    };

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
            // A united mask is filed under each of its files: the union is refused when one of them would be.
            var united = p.MergedFrom is null ? "" : $" (united with the other masks of {rel(p.ImagePath)})";
            foreach (var file in p.MaskFiles)
            {
                if (p.MaskEncoding == MaskEncoding.Binary255)
                    problems.Add(new DatasetProblem(rel(file),
                        $"the mask{united} holds 0 and 255 (a binary mask), but {because}; write this mask's foreground as its class label (1 … {maxLabel}) instead of 255."));
                else if (p.MaskEncoding == MaskEncoding.Lossy)
                    problems.Add(new DatasetProblem(rel(file),
                        $"the mask{united} is a JPEG, whose lossy compression changes label values, but {because}; save the label map as PNG (or TIFF, BMP)."));
            }
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

    private static ScannedPair? CheckPair(string name, string imagePath, IReadOnlyList<string> maskPaths, Func<string, string> rel,
        ConcurrentBag<DatasetProblem> problems, bool allowLabelMaps, ImageLimits limits, string unitedMasks, bool colourMasks, out uint labelSet)
    {
        labelSet = 0;
        var image = Load(imagePath, rel, problems, limits, keepPixels: false); // its size and bands are what the pairing needs
        var masks = maskPaths.Select(path => (Path: path, Loaded: Load(path, rel, problems, limits))).ToList();
        if (image is null || masks.Any(m => m.Loaded is null)) return null;

        var ok = true;
        var contents = new List<MaskContent>();
        IReadOnlyList<int>? colourSet = null;
        foreach (var (maskPath, loaded) in masks)
        {
            var mask = loaded!.Value;
            if (image.Value.Raster.Width != mask.Raster.Width || image.Value.Raster.Height != mask.Raster.Height)
            {
                problems.Add(new DatasetProblem(rel(maskPath),
                    $"the mask is {mask.Raster.Width}×{mask.Raster.Height} but its image {rel(imagePath)} is " +
                    $"{image.Value.Raster.Width}×{image.Value.Raster.Height}; a mask must have exactly the size of its image (do not resize one of them alone)."));
                ok = false;
            }
            if (colourMasks && ColourMaskMapper.HasColour(mask.Raster))
            {
                var (colours, colourProblem) = ColourMaskMapper.Colours(mask.Raster);
                if (colours is null)
                {
                    problems.Add(new DatasetProblem(rel(maskPath), colourProblem!));
                    ok = false;
                }
                else if (masks.Count > 1)
                {
                    problems.Add(new DatasetProblem(rel(maskPath),
                        $"a colour mask cannot be united with the other masks of {rel(imagePath)} (where they overlap, which colour wins is ambiguous); " +
                        "merge them into one colour mask named after the image and remove the others."));
                    ok = false;
                }
                else
                {
                    colourSet = colours;
                }
                continue;
            }
            var (content, problem) = MaskReader.Inspect(mask.Raster);
            if (content is null)
            {
                problems.Add(new DatasetProblem(rel(maskPath), problem!));
                ok = false;
            }
            else if (content.Encoding == MaskEncoding.LabelMap && !allowLabelMaps)
            {
                problems.Add(new DatasetProblem(rel(maskPath), MaskReader.Binarise(mask.Raster).Problem +
                    " Binarise it (foreground → 255), or train a multi-class dataset with 'medseg train', which reads label maps."));
                ok = false;
            }
            else contents.Add(content);
        }
        if (!ok) return null;
        var (width, height, bands) = (image.Value.Raster.Width, image.Value.Raster.Height, image.Value.Raster.Bands);
        if (colourSet is not null)
        {
            return new ScannedPair(name, imagePath, maskPaths[0], width, height, bands, 0, image.Value.Sha256, masks[0].Loaded!.Value.Sha256,
                MaskEncoding.Colour, 0) { Colours = colourSet };
        }
        if (masks.Count == 1)
        {
            var single = contents[0];
            labelSet = single.LabelSet;
            return new ScannedPair(name, imagePath, maskPaths[0], width, height, bands, single.Labels.ForegroundFraction,
                image.Value.Sha256, masks[0].Loaded!.Value.Sha256, single.Encoding, single.MaxLabel)
            {
                Spacing = image.Value.Raster.Spacing,
                Colours = colourMasks && single.Encoding != MaskEncoding.Lossy ? ColourMaskMapper.Colours(masks[0].Loaded!.Value.Raster).Colours : null,
            };
        }

        var (united, refused) = MaskReader.Unite(contents);
        if (united is null)
        {
            var maps = string.Join(", ", masks.Where((_, i) => contents[i].Encoding == MaskEncoding.LabelMap).Select(m => rel(m.Path)));
            problems.Add(new DatasetProblem(rel(imagePath),
                $"the image has {masks.Count} masks ({string.Join(", ", masks.Select(m => rel(m.Path)))}) and {maps} " +
                $"{(maps.Contains(',') ? "are label maps" : "is a label map")}: {refused}. Merge them into one label map named after the image and remove the others."));
            return null;
        }
        // Written as 0/255 (0/1 when every part is 0/1), so that it reads back with the union's encoding.
        var foreground = united.Encoding == MaskEncoding.Binary01 ? (byte)1 : (byte)255;
        var pixels = united.Labels.Pixels.Select(v => v != 0 ? foreground : (byte)0).ToArray();
        var png = ImageDecoder.EncodePng(pixels, width, height, 1);
        Directory.CreateDirectory(unitedMasks);
        var unitedPath = Path.Combine(unitedMasks, name + ".png");
        File.WriteAllBytes(unitedPath, png);
        labelSet = united.LabelSet;
        return new ScannedPair(name, imagePath, unitedPath, width, height, bands, united.Labels.ForegroundFraction,
            image.Value.Sha256, Convert.ToHexStringLower(SHA256.HashData(png)), united.Encoding, united.MaxLabel, maskPaths)
        {
            Spacing = image.Value.Raster.Spacing,
            Colours = colourMasks && united.Encoding != MaskEncoding.Lossy ? [0, .. united.MaxLabel > 0 ? [foreground * 0x010101] : Array.Empty<int>()] : null,
        };
    }

    private static (Raster Raster, string Sha256)? Load(string path, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems,
        ImageLimits limits, bool keepPixels = true)
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
            return (ImageDecoder.Decode(bytes, limits, path, keepPixels), sha);
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

    /// <summary>The image files of a folder; reports unsupported files and subfolders (except those in <paramref name="read"/>,
    /// which are listed on their own).</summary>
    private static List<string> ListImages(string dir, IReadOnlySet<string> read, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems)
    {
        var files = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
        {
            var fileName = Path.GetFileName(entry);
            if (IsHiddenOrSystem(entry, fileName)) continue;
            if (Directory.Exists(entry))
            {
                if (!read.Contains(entry))
                    problems.Add(new DatasetProblem(rel(entry) + "/",
                        "subfolders are not read; move these files up into the folder above, or remove the subfolder."));
                continue;
            }
            var ext = Path.GetExtension(fileName);
            if (!ImageDecoder.IsImageFile(entry))
            {
                problems.Add(new DatasetProblem(rel(entry),
                    $"unsupported file type '{(ext.Length == 0 ? "(no extension)" : ext)}'; MedSeg reads PNG, JPEG, TIFF, BMP and DICOM. Convert the file or remove it."));
                continue;
            }
            files.Add(entry);
        }
        return files;
    }

    /// <summary>Files by stem (case-sensitive), over every folder of their role; reports each stem held by several files
    /// (other extensions, or other class folders): pairs are named by the stem, so it must be unique.</summary>
    private static Dictionary<string, List<string>> ByStem(IEnumerable<string> files, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems)
    {
        var byStem = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var stem = ImageDecoder.Stem(file);
            if (!byStem.TryGetValue(stem, out var list)) byStem[stem] = list = [];
            list.Add(file);
        }
        foreach (var (stem, list) in byStem.Where(kv => kv.Value.Count > 1))
        {
            var names = string.Join(" and ", list.Select(rel));
            foreach (var f in list)
                problems.Add(new DatasetProblem(rel(f),
                    $"duplicate name: {names} share the name '{stem}', so the pairing is ambiguous; keep only one of them, or rename one."));
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

    /// <summary>Where the files are. <see cref="MaskFolder"/> null: every folder of <see cref="ImageFolders"/> holds images
    /// and masks side by side (a name ending in a mask suffix is a mask).</summary>
    private sealed record Layout(string Base, IReadOnlyList<string> ImageFolders, string? MaskFolder);

    /// <summary>
    /// An image folder beside a mask folder (<see cref="PairingRules.ImageFolders"/>, <see cref="PairingRules.MaskFolders"/>)
    /// at the top, or in the one folder below it that has them; an image folder alone holds its masks too. Without such
    /// folders, images and masks side by side in the top folder (or, when it holds no image, its only folder: an archive's
    /// top folder) and in each folder directly below that (one folder per class). Null, with the problem reported, otherwise.
    /// </summary>
    private static Layout? FindLayout(string root, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems)
    {
        if (FromRoleFolders(root, rel, problems, out var layout)) return layout;
        var folders = VisibleFolders(root);
        var withRoles = folders.Where(d => VisibleFolders(d).Any(c => IsRoleFolder(Path.GetFileName(c)))).ToList();
        if (withRoles.Count == 1)
            return FromRoleFolders(withRoles[0], rel, problems, out layout) ? layout : null;
        if (withRoles.Count > 1)
        {
            problems.Add(new DatasetProblem("",
                $"several folders hold image or mask folders ({string.Join(", ", withRoles.Select(d => rel(d) + "/"))}), so which one is the dataset is " +
                "ambiguous; upload one at a time, or move their files into one image folder and one mask folder."));
            return null;
        }

        var baseDir = !HasImageFiles(root) && folders.Count == 1 ? folders[0] : root;
        List<string> shared = [.. new[] { baseDir }.Where(HasImageFiles), .. VisibleFolders(baseDir).Where(HasImageFiles)];
        if (shared.Count > 0) return new Layout(baseDir, shared, null);
        problems.Add(new DatasetProblem("",
            "no images/ and masks/ folders found at the top of the dataset (or one folder below it), and no images beside their masks. " +
            "Put the images in images/ and the masks, with the same file names, in masks/ (or name each mask after its image with " +
            "a suffix such as _mask, beside it: benign/a.png with benign/a_mask.png)."));
        return null;
    }

    /// <summary>True when <paramref name="dir"/> holds role folders; then <paramref name="layout"/> is its layout, or null
    /// when they are ambiguous (reported).</summary>
    private static bool FromRoleFolders(string dir, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems, out Layout? layout)
    {
        layout = null;
        var children = VisibleFolders(dir);
        var imageFolders = children.Where(c => PairingRules.IsImageFolder(Path.GetFileName(c))).ToList();
        var maskFolders = children.Where(c => PairingRules.IsMaskFolder(Path.GetFileName(c))).ToList();
        if (imageFolders.Count == 0 && maskFolders.Count == 0) return false;
        foreach (var (found, role, names) in new[] { (imageFolders, "image", PairingRules.ImageFolders), (maskFolders, "mask", PairingRules.MaskFolders) })
        {
            if (found.Count < 2) continue;
            var named = string.Join(" and ", found.Select(f => rel(f) + "/"));
            foreach (var f in found)
                problems.Add(new DatasetProblem(rel(f) + "/",
                    $"ambiguous {role} folder: {named} could each be the {role} folder (named {string.Join(", ", names)}); " +
                    $"keep one {role} folder: merge the others into it, rename or remove them."));
        }
        if (imageFolders.Count > 1 || maskFolders.Count > 1) return true;
        if (imageFolders.Count == 0)
        {
            problems.Add(new DatasetProblem(rel(maskFolders[0]) + "/",
                $"a mask folder without an image folder beside it; put the images in images/ (or {string.Join(", ", PairingRules.ImageFolders.Skip(1))}) next to it."));
            return true;
        }
        layout = new Layout(dir, imageFolders, maskFolders.Count == 1 ? maskFolders[0] : null);
        return true;
    }

    private static bool IsRoleFolder(string name) => PairingRules.IsImageFolder(name) || PairingRules.IsMaskFolder(name);

    private static List<string> VisibleFolders(string dir) =>
        [.. Directory.EnumerateDirectories(dir).Where(d => !IsHiddenOrSystem(d, Path.GetFileName(d))).Order(StringComparer.Ordinal)];

    private static bool HasImageFiles(string dir) =>
        Directory.EnumerateFiles(dir).Any(f => !IsHiddenOrSystem(f, Path.GetFileName(f)) && ImageDecoder.IsImageFile(f));
}
