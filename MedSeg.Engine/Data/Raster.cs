using MedSeg.Engine.Data.Dicom;
using NetVips;

namespace MedSeg.Engine.Data;

/// <summary>Pixel spacing in mm: <see cref="X"/> between columns, <see cref="Y"/> between rows.</summary>
public sealed record PixelSpacing(double X, double Y);

/// <summary>
/// A decoded image: interleaved (H, W, Bands) float pixels holding the stored sample values (0–255 for 8-bit,
/// 0–65535 for 16-bit, as stored for float), colour bands only (alpha removed); a multi-band TIFF (<see cref="MultibandTiff"/>)
/// keeps every band. <see cref="Lossy"/> is true for JPEG.
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
    /// <summary>The pixel spacing the file states (DICOM's Pixel Spacing); null when it says none.</summary>
    public PixelSpacing? Spacing { get; init; }
}

/// <summary>
/// Decodes PNG, JPEG, TIFF (NetVips), BMP (own reader: the bundled libvips has no BMP loader) and uncompressed single-frame
/// DICOM (<see cref="DicomReader"/>). The format is decided
/// by the content (<see cref="ImageSniffer"/>), so libvips' other loaders (SVG, GIF, WebP, HEIF, …) are never reached, and
/// the header's width and height are checked against <see cref="ImageLimits"/> before any pixel is decoded.
/// </summary>
public static class ImageDecoder
{
    /// <summary>Lowercase extensions MedSeg reads. DICOM files are also read under any other name (or none) when their content
    /// has the 'DICM' mark (<see cref="IsDicomFile"/>).</summary>
    public static readonly IReadOnlySet<string> Extensions =
        new HashSet<string>([".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom"], StringComparer.OrdinalIgnoreCase);

    /// <summary>True for a file of an image extension, or of another one (or none: <c>IM0001</c>, <c>1.2.840.1.5</c>) whose content
    /// is DICOM (the 'DICM' mark after the 128-byte preamble; 132 bytes are read).</summary>
    public static bool IsImageFile(string path) => Extensions.Contains(Path.GetExtension(path)) || IsDicomFile(path);

    /// <summary>The file's content starts as a DICOM Part 10 file.</summary>
    public static bool IsDicomFile(string path)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            Span<byte> head = stackalloc byte[132];
            return file.Length >= 132 && file.ReadAtLeast(head, 132, throwOnEndOfStream: false) == 132 && DicomReader.HasPreamble(head);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The name of a pair: the file name without its extension when that is an image extension, else the whole name
    /// (a DICOM file named by its UID, <c>1.2.840.1.5</c>, is the pair <c>1.2.840.1.5</c>).</summary>
    public static string Stem(string path) =>
        Extensions.Contains(Path.GetExtension(path)) ? Path.GetFileNameWithoutExtension(path) : Path.GetFileName(path);

    /// <summary>The extension a stored copy of the file gets: its own image extension, else <c>.dcm</c> (only DICOM content is
    /// accepted under other names).</summary>
    public static string StoredExtension(string path) =>
        Extensions.Contains(Path.GetExtension(path)) ? Path.GetExtension(path) : ".dcm";

    /// <summary>Decodes a stored file that was checked when it entered (<see cref="ImageLimits.None"/>).</summary>
    public static Raster DecodeFile(string path) => Decode(File.ReadAllBytes(path), ImageLimits.None, Path.GetFileName(path));

    /// <summary>
    /// Reads a file that enters from outside, refusing it (<see cref="ImageRefusedException"/>) before it is read whole when
    /// it is larger than any image within <paramref name="limits"/> can be, or when its first bytes are not an image MedSeg reads.
    /// </summary>
    public static byte[] ReadFile(string path, ImageLimits limits)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        var length = file.Length;
        if (length > limits.MaxFileBytes || length > Array.MaxLength)
            throw new ImageRefusedException(
                $"the file is {length / (1024.0 * 1024):F0} MiB, larger than any image within the {ImageLimits.Megapixels(limits.MaxPixels)}-megapixel limit " +
                "can be; remove it or save the image compressed (PNG).");
        var head = new byte[Math.Min(length, ImageSniffer.HeadLength)];
        file.ReadExactly(head);
        ImageSniffer.Require(head, path);
        var bytes = new byte[length];
        head.CopyTo(bytes, 0);
        file.ReadExactly(bytes, head.Length, bytes.Length - head.Length);
        return bytes;
    }

    /// <summary>The format and size the file's header declares, checked against <paramref name="limits"/>, without decoding
    /// pixels (NetVips reads headers lazily; BMP through its own checked header). Throws <see cref="ImageRefusedException"/>
    /// (over the limit, not an image) or <see cref="InvalidDataException"/> (corrupt).</summary>
    public static ImageHeader ReadHeader(byte[] bytes, ImageLimits limits, string? fileName = null)
    {
        var format = ImageSniffer.Require(bytes.AsSpan(0, Math.Min(bytes.Length, ImageSniffer.HeadLength)), fileName);
        if (format == ImageFormat.Bmp)
        {
            var bmp = BmpDecoder.ReadHeader(bytes, bytes.Length);
            limits.CheckSize(bmp.Width, bmp.Height);
            return new ImageHeader(format, bmp.Width, bmp.Height);
        }
        if (format == ImageFormat.Dicom) return DicomReader.ReadHeader(bytes, limits);
        using var image = Open(bytes, format);
        limits.CheckSize(image.Width, image.Height);
        return new ImageHeader(format, image.Width, image.Height);
    }

    /// <summary>Decodes the whole image (so truncated or corrupt data fails here, not later) after checking its content
    /// and its header's size against <paramref name="limits"/>. Throws <see cref="ImageRefusedException"/> or <see cref="InvalidDataException"/>.</summary>
    /// <param name="keepPixels">false: the image is still decoded whole (every pixel is read, so corrupt data fails alike)
    /// but streamed through without being kept, and the raster's <see cref="Raster.Pixels"/> is empty: for validation, which
    /// needs the size and bands only (an 800-image upload then allocates no float copy of each image).</param>
    public static Raster Decode(byte[] bytes, ImageLimits limits, string? fileName = null, bool keepPixels = true)
    {
        var format = ImageSniffer.Require(bytes.AsSpan(0, Math.Min(bytes.Length, ImageSniffer.HeadLength)), fileName);
        if (format == ImageFormat.Bmp) return BmpDecoder.Decode(bytes, limits);
        if (format == ImageFormat.Dicom) return DicomReader.Decode(bytes, limits);
        try
        {
            using var loaded = Open(bytes, format);
            // The header is read; nothing is decoded before this check.
            limits.CheckSize(loaded.Width, loaded.Height);
            var lossy = format == ImageFormat.Jpeg;
            var deep = loaded.Format is not (Enums.BandFormat.Uchar or Enums.BandFormat.Char);
            var image = loaded;
            var owned = new List<Image>();
            try
            {
                // A multi-band TIFF (extra samples that are data, not alpha: MultibandTiff) keeps every band as a channel.
                if (!(format == ImageFormat.Tiff && image.Bands > 1 && MultibandTiff.IsMultiband(bytes)))
                {
                    if (image.Interpretation == Enums.Interpretation.Cmyk)
                        owned.Add(image = image.Colourspace(Enums.Interpretation.Srgb));
                    if (image.HasAlpha())
                        owned.Add(image = image.ExtractBand(0, image.Bands - 1));
                    if (image.Bands == 2)
                        owned.Add(image = image.ExtractBand(0));
                    else if (image.Bands > 3)
                        owned.Add(image = image.ExtractBand(0, 3));
                }
                float[] pixels;
                if (!keepPixels)
                {
                    _ = image.Avg(); // pulls every pixel through the decoder, keeps none
                    pixels = [];
                }
                else if (image.Format == Enums.BandFormat.Uchar)
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
            throw Unreadable(e);
        }
    }

    /// <summary>Opens PNG, JPEG or TIFF content lazily (header only) and makes sure libvips chose the matching loader.</summary>
    private static Image Open(byte[] bytes, ImageFormat format)
    {
        Image image;
        try
        {
            image = Image.NewFromBuffer(bytes, access: Enums.Access.Sequential, failOn: Enums.FailOn.Error);
        }
        catch (VipsException e)
        {
            throw Unreadable(e);
        }
        var loader = image.Get("vips-loader") as string ?? "";
        var expected = format switch { ImageFormat.Png => "png", ImageFormat.Jpeg => "jpeg", _ => "tiff" };
        if (!loader.StartsWith(expected, StringComparison.Ordinal))
        {
            image.Dispose();
            throw new InvalidDataException($"the file looks like {ImageSniffer.Name(format)} but cannot be read as one; re-export it as PNG.");
        }
        return image;
    }

    private static InvalidDataException Unreadable(VipsException e) =>
        new("the file cannot be decoded (corrupt, truncated or not really an image): " + FirstLine(e.Message).TrimEnd('.') + ".", e);

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
