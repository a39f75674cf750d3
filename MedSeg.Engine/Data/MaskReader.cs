namespace MedSeg.Engine.Data;

/// <summary>A binary mask: one byte per pixel, 1 = foreground, 0 = background.</summary>
public sealed record BinaryMask(int Width, int Height, byte[] Pixels)
{
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

/// <summary>
/// The one place masks are read (scanner, trainer, predictor, rendering). Masks are binary:
/// lossless files (PNG, TIFF, BMP) must hold only {0, 255} or only {0, 1}, in one grey band or in colour bands that are
/// identical; any non-zero value is foreground. JPEG masks are lossy, so they are thresholded instead: the mean of the
/// colour bands ≥ 128 is foreground, with no value check.
/// </summary>
public static class MaskReader
{
    public const float JpegThreshold = 128f;

    /// <summary>Reads and binarises a mask; throws <see cref="InvalidDataException"/> with an actionable message.</summary>
    public static BinaryMask Read(string path)
    {
        var raster = ImageDecoder.DecodeFile(path);
        var (mask, problem) = Binarise(raster);
        return mask ?? throw new InvalidDataException($"{Path.GetFileName(path)}: {problem}");
    }

    /// <summary>Binarises a decoded mask, or says what is wrong with it.</summary>
    public static (BinaryMask? Mask, string? Problem) Binarise(Raster raster)
    {
        var n = raster.Width * raster.Height;
        var bands = raster.Bands;
        var px = raster.Pixels;
        var result = new byte[n];
        if (raster.Lossy)
        {
            for (var i = 0; i < n; i++)
            {
                float sum = 0;
                for (var k = 0; k < bands; k++) sum += px[i * bands + k];
                result[i] = sum / bands >= JpegThreshold ? (byte)1 : (byte)0;
            }
            return (new BinaryMask(raster.Width, raster.Height, result), null);
        }

        bool has1 = false, has255 = false;
        var others = new List<float>(5);
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
                                  "Save it as a greyscale PNG with background 0 and foreground 255.");
                }
            }
            if (v == 0) continue;
            result[i] = 1;
            if (v == 255) has255 = true;
            else if (v == 1) has1 = true;
            else if (others.Count < 5) { if (!others.Contains(v)) others.Add(v); }
            else if (!others.Contains(v)) moreOthers = true;
        }

        if (others.Count > 0 || (has1 && has255))
        {
            var found = new List<float> { 0 };
            if (has1) found.Add(1);
            if (has255) found.Add(255);
            found.AddRange(others);
            var offending = others.Count > 0 ? others : [1f];
            return (null,
                $"the mask has label values {Format(offending)}{(moreOthers ? " and more" : "")} " +
                $"(values found include {Format(found.Distinct().Order().Take(8))}); a binary mask may hold only 0 and 255, or only 0 and 1. " +
                "Threshold it (foreground → 255, background → 0) and save it as PNG; for a mask saved with anti-aliasing, export it without smoothing.");
        }
        return (new BinaryMask(raster.Width, raster.Height, result), null);
    }

    private static string Format(IEnumerable<float> values) =>
        string.Join(", ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}
