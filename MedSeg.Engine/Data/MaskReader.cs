namespace MedSeg.Engine.Data;

/// <summary>A mask: one byte per pixel, 0 = background; 1 = foreground for a binary mask, the class label
/// (1 … K − 1) for a label map.</summary>
public sealed record BinaryMask(int Width, int Height, byte[] Pixels)
{
    /// <summary>Pixels that are not background (any non-zero label).</summary>
    public long ForegroundPixels
    {
        get
        {
            long n = 0;
            foreach (var p in Pixels) if (p != 0) n++;
            return n;
        }
    }
    public double ForegroundFraction => Pixels.Length == 0 ? 0 : (double)ForegroundPixels / Pixels.Length;
}

/// <summary>How a mask file encodes its labels (see docs/datasets.md).</summary>
public enum MaskEncoding
{
    /// <summary>Lossless, every pixel 0: fits a binary dataset and a label map alike.</summary>
    Empty,
    /// <summary>Lossless, only 0 and 255.</summary>
    Binary255,
    /// <summary>Lossless, only 0 and 1 (also label 1 of a label map).</summary>
    Binary01,
    /// <summary>Lossless integer labels 0 … <see cref="MaskReader.MaxLabel"/>, some label ≥ 2, no 255.</summary>
    LabelMap,
    /// <summary>JPEG: thresholded at <see cref="MaskReader.JpegThreshold"/>; binary datasets only.</summary>
    Lossy,
    /// <summary>A lossless colour or palette mask with few colours, mapped to labels by <see cref="ColourMaskMapper"/> (scans
    /// with <see cref="ColourMaskOptions"/> only); the scan's result carries the mapped encoding instead.</summary>
    Colour,
}

/// <summary>A decoded mask: its labels (0/1 for binary encodings), how the file encodes them, its largest label and the set
/// of its non-zero labels as bits (bit k set when label k occurs; binary encodings: bit 1 when there is foreground).</summary>
public sealed record MaskContent(BinaryMask Labels, MaskEncoding Encoding, int MaxLabel, uint LabelSet)
{
    /// <summary>The non-zero labels that occur, in increasing order.</summary>
    public IEnumerable<int> PresentLabels => Enumerable.Range(1, MaskReader.MaxLabel).Where(k => (LabelSet & (1u << k)) != 0);
}

/// <summary>
/// The one place masks are read (scanner, trainer, predictor, evaluation, rendering). Lossless files (PNG, TIFF, BMP) hold
/// one grey band, or colour bands that are identical:
/// <list type="bullet">
/// <item>only {0, 255} or only {0, 1}: a binary mask, any non-zero value is foreground (label 1);</item>
/// <item>integer labels 0 … <see cref="MaxLabel"/> with some label ≥ 2 and no 255: a label map (0 = background);</item>
/// <item>anything else (255 mixed with other values, fractions, values above <see cref="MaxLabel"/>) is refused.</item>
/// </list>
/// JPEG masks are lossy, so they are thresholded instead: the mean of the colour bands ≥ 128 is foreground, with no value
/// check; a label map cannot be JPEG (the scanner refuses JPEG masks in a multi-class dataset).
/// </summary>
public static class MaskReader
{
    public const float JpegThreshold = 128f;
    /// <summary>The largest label a label map may hold (so at most 32 classes with background).</summary>
    public const int MaxLabel = 31;

    /// <summary>Reads and binarises a mask (binary encodings only); throws <see cref="InvalidDataException"/> with an
    /// actionable message, also for a label map.</summary>
    public static BinaryMask Read(string path)
    {
        var raster = ImageDecoder.DecodeFile(path);
        var (mask, problem) = Binarise(raster);
        return mask ?? throw new InvalidDataException($"{Path.GetFileName(path)}: {problem}");
    }

    /// <summary>Reads a binary mask (as 0/1) or a label map (as labels); throws <see cref="InvalidDataException"/> with an
    /// actionable message.</summary>
    public static BinaryMask ReadLabels(string path)
    {
        var raster = ImageDecoder.DecodeFile(path);
        var (content, problem) = Inspect(raster);
        return content?.Labels ?? throw new InvalidDataException($"{Path.GetFileName(path)}: {problem}");
    }

    /// <summary>Binarises a decoded mask, or says what is wrong with it. A label map is refused (never binarised).</summary>
    public static (BinaryMask? Mask, string? Problem) Binarise(Raster raster)
    {
        var (content, problem) = Inspect(raster);
        if (content is null) return (null, problem);
        if (content.Encoding == MaskEncoding.LabelMap)
        {
            var labels = (content.Labels.ForegroundFraction < 1 ? content.PresentLabels.Prepend(0) : content.PresentLabels).Select(v => (float)v);
            return (null, $"the mask is a label map (labels {Format(labels)}, {content.MaxLabel + 1} classes with background), but only " +
                          "binary masks are accepted here: a binary mask may hold only 0 and 255, or only 0 and 1.");
        }
        return (content.Labels, null);
    }

    /// <summary>
    /// Unites one image's several masks (BUSI's <c>_mask</c>, <c>_mask_1</c>, …): binary masks give their union, foreground
    /// wherever any of them has foreground (logical OR). A label map among them is refused: where two label maps overlap,
    /// which label wins is ambiguous. The union's encoding is the first of Lossy, Binary255, Binary01 that some part has
    /// (else Empty), so a multi-class dataset refuses a union exactly when it would refuse one of its parts.
    /// </summary>
    public static (MaskContent? United, string? Problem) Unite(IReadOnlyList<MaskContent> masks)
    {
        ArgumentOutOfRangeException.ThrowIfZero(masks.Count);
        var (width, height) = (masks[0].Labels.Width, masks[0].Labels.Height);
        if (masks.Any(m => m.Labels.Width != width || m.Labels.Height != height))
            throw new ArgumentException("the masks to unite must have one size.", nameof(masks));
        if (masks.Any(m => m.Encoding == MaskEncoding.LabelMap))
            return (null, "a label map cannot be united with other masks (where they overlap, which label wins is ambiguous)");
        var union = new byte[width * height];
        var any = false;
        foreach (var mask in masks)
        {
            var pixels = mask.Labels.Pixels;
            for (var i = 0; i < union.Length; i++)
                if (pixels[i] != 0) (union[i], any) = (1, true);
        }
        MaskEncoding[] loosestFirst = [MaskEncoding.Lossy, MaskEncoding.Binary255, MaskEncoding.Binary01];
        var encoding = loosestFirst.FirstOrDefault(e => masks.Any(m => m.Encoding == e), MaskEncoding.Empty);
        return (new MaskContent(new BinaryMask(width, height, union), encoding, any ? 1 : 0, any ? 2u : 0u), null);
    }

    /// <summary>Decodes a mask's labels and says how it is encoded, or what is wrong with it.</summary>
    public static (MaskContent? Content, string? Problem) Inspect(Raster raster)
    {
        var n = raster.Width * raster.Height;
        var bands = raster.Bands;
        var px = raster.Pixels;
        var result = new byte[n];
        if (raster.Lossy)
        {
            var any = false;
            for (var i = 0; i < n; i++)
            {
                float sum = 0;
                for (var k = 0; k < bands; k++) sum += px[i * bands + k];
                if (sum / bands >= JpegThreshold) (result[i], any) = (1, true);
            }
            return (new MaskContent(new BinaryMask(raster.Width, raster.Height, result), MaskEncoding.Lossy, any ? 1 : 0, any ? 2u : 0u), null);
        }

        var present = new bool[256]; // integer values 1 … 255
        var others = new List<float>(5); // fractions and values above 255
        var moreOthers = false;
        for (var i = 0; i < n; i++)
        {
            var v = px[i * bands];
            for (var k = 1; k < bands; k++)
            {
                if (px[i * bands + k] != v)
                {
                    var (x, y) = (i % raster.Width, i / raster.Width);
                    var colour = string.Join(", ", Enumerable.Range(0, bands).Select(j => px[i * bands + j]));
                    return (null, $"the mask has colour pixels (e.g. ({colour}) at x={x}, y={y}), but masks must be grey. " +
                                  "Save it as a greyscale PNG with background 0 and foreground 255 (or, for several classes, " +
                                  $"a grey label map with the labels 0 … K − 1, K ≤ {MaxLabel + 1}).");
                }
            }
            if (v == 0) continue;
            if (v >= 1 && v <= 255 && v == MathF.Floor(v))
            {
                present[(int)v] = true;
                result[i] = v == 255 ? (byte)1 : (byte)v;
            }
            else if (others.Count < 5) { if (!others.Contains(v)) others.Add(v); }
            else if (!others.Contains(v)) moreOthers = true;
        }

        var labels = Enumerable.Range(1, 254).Where(v => present[v]).Select(v => (float)v).ToList();
        var has255 = present[255];
        var mask = new BinaryMask(raster.Width, raster.Height, result);
        if (others.Count == 0 && labels.Count == 0)
            return (new MaskContent(mask, has255 ? MaskEncoding.Binary255 : MaskEncoding.Empty, has255 ? 1 : 0, has255 ? 2u : 0u), null);
        if (others.Count == 0 && !has255 && labels[^1] == 1)
            return (new MaskContent(mask, MaskEncoding.Binary01, 1, 2u), null);
        if (others.Count == 0 && !has255 && labels[^1] <= MaxLabel)
            return (new MaskContent(mask, MaskEncoding.LabelMap, (int)labels[^1], labels.Aggregate(0u, (set, v) => set | 1u << (int)v)), null);

        // With 255 every other non-zero value is wrong; without it, fractions and labels above MaxLabel are.
        List<float> offending = [.. others, .. labels.Where(v => has255 || v > MaxLabel)];
        var found = new List<float> { 0 };
        found.AddRange(labels);
        if (has255) found.Add(255);
        found.AddRange(others);
        var what = $"the mask has label values {Format(offending.Distinct().Order().Take(8))}{(moreOthers ? " and more" : "")} " +
                   $"(values found include {Format(found.Distinct().Order().Take(8))}); a binary mask may hold only 0 and 255, or only 0 and 1, " +
                   $"and a label map only the integer labels 0 … K − 1 (0 = background, K ≤ {MaxLabel + 1}, no 255). ";
        return (null, what + (has255
            ? "Threshold it (foreground → 255, background → 0) and save it as PNG; for a mask saved with anti-aliasing, export it without smoothing; " +
              "for a label map, write the classes as 1, 2, … instead of 255."
            : "Threshold it (foreground → 255, background → 0), or write the classes as 1, 2, …, and save it as PNG without smoothing."));
    }

    private static string Format(IEnumerable<float> values) =>
        string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
