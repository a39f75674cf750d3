using NetVips;

namespace MedSeg.Engine.Data;

/// <summary>
/// A decoded image: interleaved (H, W, Bands) float pixels holding the stored sample values (0–255 for 8-bit,
/// 0–65535 for 16-bit), colour bands only (alpha removed). <see cref="Lossy"/> is true for JPEG.
/// </summary>
public sealed class Raster(int width, int height, int bands, float[] pixels, bool sixteenBitOrMore, bool lossy)
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public int Bands { get; } = bands;
    public float[] Pixels { get; } = pixels;
    /// <summary>True when the file stored more than 8 bits per sample (16-bit, 32-bit or float).</summary>
    public bool SixteenBitOrMore { get; } = sixteenBitOrMore;
    public bool Lossy { get; } = lossy;
}

/// <summary>Decodes PNG, JPEG, TIFF (NetVips) and BMP (own reader: the bundled libvips has no BMP loader).</summary>
public static class ImageDecoder
{
    /// <summary>Lowercase extensions MedSeg reads.</summary>
    public static readonly IReadOnlySet<string> Extensions =
        new HashSet<string>([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"], StringComparer.OrdinalIgnoreCase);

    public static Raster DecodeFile(string path) => Decode(File.ReadAllBytes(path));

    /// <summary>Decodes the whole image (so truncated or corrupt data fails here, not later). Throws <see cref="InvalidDataException"/>.</summary>
    public static Raster Decode(byte[] bytes)
    {
        if (bytes.Length >= 2 && bytes[0] == (byte)'B' && bytes[1] == (byte)'M') return BmpDecoder.Decode(bytes);
        try
        {
            using var loaded = Image.NewFromBuffer(bytes, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error);
            var lossy = (loaded.Get("vips-loader") as string ?? "").Contains("jpeg", StringComparison.Ordinal);
            var deep = loaded.Format is not (Enums.BandFormat.Uchar or Enums.BandFormat.Char);
            var image = loaded;
            var owned = new List<Image>();
            try
            {
                if (image.Interpretation == Enums.Interpretation.Cmyk)
                    owned.Add(image = image.Colourspace(Enums.Interpretation.Srgb));
                if (image.HasAlpha())
                    owned.Add(image = image.ExtractBand(0, image.Bands - 1));
                if (image.Bands == 2)
                    owned.Add(image = image.ExtractBand(0));
                else if (image.Bands > 3)
                    owned.Add(image = image.ExtractBand(0, 3));
                float[] pixels;
                if (image.Format == Enums.BandFormat.Uchar)
                {
                    var raw = image.WriteToMemory<byte>(); // 8-bit: skip libvips' float cast, which is slower
                    pixels = new float[raw.Length];
                    for (var i = 0; i < raw.Length; i++) pixels[i] = raw[i];
                }
                else
                {
                    using var asFloat = image.Cast(Enums.BandFormat.Float);
                    pixels = asFloat.WriteToMemory<float>();
                }
                return new Raster(image.Width, image.Height, image.Bands, pixels, deep, lossy);
            }
            finally
            {
                foreach (var i in owned) i.Dispose();
            }
        }
        catch (VipsException e)
        {
            throw new InvalidDataException("the file cannot be decoded (corrupt, truncated or not really an image): " +
                                           FirstLine(e.Message).TrimEnd('.') + ".", e);
        }
    }

    private static string FirstLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length > 1 ? lines[1] : lines.FirstOrDefault() ?? "unknown error";
    }

    /// <summary>Encodes an 8-bit interleaved buffer (1 or 3 bands) as PNG.</summary>
    public static byte[] EncodePng(byte[] pixels, int width, int height, int bands)
    {
        using var image = Image.NewFromMemory(pixels, width, height, bands, Enums.BandFormat.Uchar);
        return image.WriteToBuffer(".png");
    }
}
