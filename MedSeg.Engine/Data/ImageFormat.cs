using System.Text;

namespace MedSeg.Engine.Data;

/// <summary>The image formats MedSeg decodes. A file's format is decided by its content (magic bytes), so any of these is
/// read under any of the image extensions (a JPEG named .png is read as the JPEG it is; see <see cref="MaskReader"/>).</summary>
public enum ImageFormat
{
    Png,
    Jpeg,
    /// <summary>Classic and BigTIFF, either byte order.</summary>
    Tiff,
    Bmp,
    /// <summary>Single-frame uncompressed DICOM (Part 10, 'DICM' after the preamble), read by <see cref="Dicom.DicomReader"/>.</summary>
    Dicom,
}

/// <summary>The width and height an image's header declares, read without decoding its pixels.</summary>
public sealed record ImageHeader(ImageFormat Format, int Width, int Height)
{
    public long Pixels => (long)Width * Height;
}

/// <summary>Recognises <see cref="ImageFormat"/>s by their first bytes, and names common non-image content for messages.</summary>
public static class ImageSniffer
{
    /// <summary>How many leading bytes <see cref="Identify"/> and <see cref="Describe"/> look at (DICOM's mark is at 128).</summary>
    public const int HeadLength = 512;

    /// <summary>The format of the content, or null when it is none of the <see cref="ImageFormat"/>s.</summary>
    public static ImageFormat? Identify(ReadOnlySpan<byte> head)
    {
        if (head.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return ImageFormat.Png;
        if (head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return ImageFormat.Jpeg;
        if (head.StartsWith("II*\0"u8) || head.StartsWith("MM\0*"u8) || head.StartsWith("II+\0"u8) || head.StartsWith("MM\0+"u8)) return ImageFormat.Tiff;
        if (head.StartsWith("BM"u8)) return ImageFormat.Bmp;
        if (Dicom.DicomReader.HasPreamble(head)) return ImageFormat.Dicom;
        return null;
    }

    /// <summary>
    /// The format of the content; throws <see cref="ImageRefusedException"/> naming what the content is instead
    /// ("the file content is SVG/XML, not PNG; …") when it is not an image MedSeg reads.
    /// </summary>
    public static ImageFormat Require(ReadOnlySpan<byte> head, string? fileName)
    {
        if (Identify(head) is { } format) return format;
        var claimed = ClaimedFormat(fileName);
        throw new ImageRefusedException(
            $"the file content is {Describe(head)}, not {claimed}; MedSeg reads PNG, JPEG, TIFF, BMP and DICOM images, recognised by their " +
            "content rather than their file name. Export the image as PNG (a vector drawing such as SVG must be rasterised first) or remove the file.");
    }

    /// <summary>What a file's content is, in words, for a refusal: "SVG/XML", "HTML", "GIF", "text", …</summary>
    public static string Describe(ReadOnlySpan<byte> head)
    {
        if (head.Length == 0) return "empty";
        if (Identify(head) is { } format) return Name(format);
        var text = head;
        if (text.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) text = text[3..];
        text = text.TrimStart(" \t\r\n"u8);
        var lower = Encoding.ASCII.GetString(text[..Math.Min(text.Length, 256)]).ToLowerInvariant();
        if (lower.StartsWith("<svg", StringComparison.Ordinal) || (lower.StartsWith("<?xml", StringComparison.Ordinal) && lower.Contains("<svg", StringComparison.Ordinal)))
            return "SVG/XML";
        if (lower.StartsWith("<?xml", StringComparison.Ordinal)) return "XML";
        if (lower.StartsWith("<!doctype html", StringComparison.Ordinal) || lower.StartsWith("<html", StringComparison.Ordinal)) return "HTML";
        if (head.StartsWith("GIF87a"u8) || head.StartsWith("GIF89a"u8)) return "GIF";
        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8)) return "WebP";
        if (head.StartsWith("%PDF"u8)) return "PDF";
        if (head.StartsWith("PK\x03\x04"u8)) return "a ZIP archive";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x1F, 0x8B])) return "gzip-compressed data";
        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8)) return "HEIF/AVIF (ISO media)";
        if (head.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || head.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x4F, 0xFF, 0x51]))
            return "JPEG 2000";
        if (LooksLikeText(head)) return "text";
        return $"unrecognised binary data (first bytes {Convert.ToHexString(head[..Math.Min(head.Length, 8)])})";
    }

    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Png => "PNG",
        ImageFormat.Jpeg => "JPEG",
        ImageFormat.Tiff => "TIFF",
        ImageFormat.Dicom => "DICOM",
        _ => "BMP",
    };

    /// <summary>The format a file name's extension promises ("PNG" for x.png), or the extension itself.</summary>
    private static string ClaimedFormat(string? fileName)
    {
        var ext = Path.GetExtension(fileName ?? "").ToLowerInvariant();
        return ext switch
        {
            ".png" => "PNG",
            ".jpg" or ".jpeg" => "JPEG",
            ".tif" or ".tiff" => "TIFF",
            ".bmp" => "BMP",
            ".dcm" or ".dicom" => "DICOM",
            "" => "an image",
            _ => $"an image ({ext})",
        };
    }

    private static bool LooksLikeText(ReadOnlySpan<byte> head)
    {
        foreach (var b in head)
        {
            if (b is < 0x20 and not ((byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0C)) return false;
        }
        return true;
    }
}
