using System.Buffers.Binary;

namespace MedSeg.Engine.Data;

/// <summary>Uncompressed Windows BMP (1/4/8-bit palette, 24-bit, 32-bit; bottom-up or top-down), which is what
/// scanners and Paint write. Palette images whose palette is all grey decode to one band. Every header field is checked
/// against the file before anything is allocated from it (<see cref="ReadHeader"/>).</summary>
internal static class BmpDecoder
{
    /// <summary>BITMAPINFOHEADER and its V2–V5 extensions; the OS/2 core header (12 bytes) has another layout.</summary>
    private static readonly int[] InfoHeaderSizes = [40, 52, 56, 108, 124];
    private const int FileHeaderSize = 14;

    /// <summary>The checked header: sizes, layout and where the palette and the pixel rows are.</summary>
    internal sealed record BmpHeader(int Width, int Height, bool TopDown, int BitsPerPixel, int PaletteOffset, int PaletteCount,
        int DataOffset, int Stride);

    /// <summary>
    /// Reads and checks the header from the file's first bytes (<paramref name="head"/>, at least the headers and the
    /// palette, e.g. <see cref="ImageSniffer.HeadLength"/> rounded up to 2 KiB) against the file's whole length. Throws
    /// <see cref="InvalidDataException"/> for a header no real BMP has: sizes, offsets or a palette that do not fit the file.
    /// </summary>
    public static BmpHeader ReadHeader(ReadOnlySpan<byte> head, long fileLength)
    {
        if (head.Length < FileHeaderSize + 4 || fileLength < FileHeaderSize + 40 || !head.StartsWith("BM"u8))
            throw new InvalidDataException("the BMP file is truncated (no complete header).");
        var headerSize = BinaryPrimitives.ReadInt32LittleEndian(head[14..]);
        if (headerSize == 12)
            throw new InvalidDataException("OS/2 BMP files (12-byte header) are not supported; save it as PNG.");
        if (Array.IndexOf(InfoHeaderSizes, headerSize) < 0)
            throw new InvalidDataException($"the BMP header size {headerSize} is not one of 40, 52, 56, 108 or 124 bytes: the file is corrupt.");
        if (head.Length < FileHeaderSize + 40 || FileHeaderSize + headerSize > fileLength)
            throw new InvalidDataException($"the BMP file is truncated (its {headerSize}-byte header ends past the file's {fileLength} bytes).");

        var dataOffset = BinaryPrimitives.ReadInt32LittleEndian(head[10..]);
        var width = BinaryPrimitives.ReadInt32LittleEndian(head[18..]);
        var rawHeight = BinaryPrimitives.ReadInt32LittleEndian(head[22..]);
        var planes = BinaryPrimitives.ReadInt16LittleEndian(head[26..]);
        var bpp = BinaryPrimitives.ReadInt16LittleEndian(head[28..]);
        var compression = BinaryPrimitives.ReadInt32LittleEndian(head[30..]);
        var colorsUsed = BinaryPrimitives.ReadInt32LittleEndian(head[46..]);

        // int.MinValue has no absolute value: check the range before taking it.
        if (width <= 0 || width > 65535 || rawHeight == 0 || rawHeight < -65535 || rawHeight > 65535)
            throw new InvalidDataException($"the BMP header gives an impossible size {width}×{rawHeight} (width and height must be 1 … 65535): the file is corrupt.");
        var height = Math.Abs(rawHeight);
        if (planes != 1)
            throw new InvalidDataException($"the BMP header gives {planes} colour planes instead of 1: the file is corrupt.");
        if (compression is not (0 or 3))
            throw new InvalidDataException("compressed (RLE) BMP files are not supported; save it as PNG.");
        if (bpp is not (1 or 4 or 8 or 24 or 32))
            throw new InvalidDataException($"{bpp}-bit BMP files are not supported; save it as PNG.");

        var maxColors = Math.Min(1 << Math.Min((int)bpp, 30), 256);
        if (colorsUsed < 0 || colorsUsed > maxColors)
            throw new InvalidDataException(
                $"the BMP header claims a palette of {colorsUsed} colours, but {bpp}-bit images have at most {maxColors}: the file is corrupt.");
        var paletteOffset = FileHeaderSize + headerSize + (compression == 3 && headerSize == 40 ? 12 : 0); // BI_BITFIELDS masks follow a 40-byte header
        var paletteCount = bpp <= 8 ? (colorsUsed > 0 ? colorsUsed : 1 << bpp) : 0;
        var paletteEnd = paletteOffset + 4L * paletteCount;
        if (paletteEnd > head.Length || paletteEnd > fileLength)
            throw new InvalidDataException($"the BMP file is truncated (its {paletteCount}-colour palette ends past the end of the file).");
        if (dataOffset < paletteEnd || dataOffset >= fileLength)
            throw new InvalidDataException(
                $"the BMP header puts the pixel data at byte {dataOffset}, {(dataOffset >= fileLength ? "past the end of the file" : "inside the header or palette")} " +
                $"({fileLength} bytes): the file is corrupt.");

        var stride = (int)(((long)width * bpp + 31) / 32 * 4);
        var needed = (long)stride * height;
        if (dataOffset + needed > fileLength)
            throw new InvalidDataException(
                $"the BMP file is truncated: the header claims {width}×{height} pixels ({needed} bytes of pixel data from byte {dataOffset}), " +
                $"but the file has {fileLength} bytes.");
        return new BmpHeader(width, height, rawHeight < 0, bpp, paletteOffset, paletteCount, dataOffset, stride);
    }

    public static Raster Decode(byte[] b, ImageLimits limits)
    {
        var header = ReadHeader(b, b.Length);
        limits.CheckSize(header.Width, header.Height);
        return DecodeCore(b, header);
    }

    private static Raster DecodeCore(byte[] b, BmpHeader h)
    {
        var (width, height, bpp) = (h.Width, h.Height, h.BitsPerPixel);
        byte[][]? palette = null;
        var grey = true;
        if (bpp <= 8)
        {
            palette = new byte[h.PaletteCount][];
            for (var i = 0; i < h.PaletteCount; i++)
            {
                var o = h.PaletteOffset + 4 * i;
                palette[i] = [b[o + 2], b[o + 1], b[o]];
                grey &= palette[i][0] == palette[i][1] && palette[i][1] == palette[i][2];
            }
        }
        else grey = false;

        var bands = grey ? 1 : 3;
        var samples = (long)width * height * bands;
        if (samples > Array.MaxLength)
            throw new InvalidDataException($"the BMP image is {width}×{height}, too large to hold in memory.");
        var pixels = new float[samples];
        for (var y = 0; y < height; y++)
        {
            var row = h.DataOffset + (long)h.Stride * (h.TopDown ? y : height - 1 - y);
            for (var x = 0; x < width; x++)
            {
                var o = ((long)y * width + x) * bands;
                if (palette is not null)
                {
                    var index = bpp switch
                    {
                        8 => b[row + x],
                        4 => (b[row + x / 2] >> (x % 2 == 0 ? 4 : 0)) & 0xF,
                        _ => (b[row + x / 8] >> (7 - x % 8)) & 1,
                    };
                    var c = palette[Math.Min(index, palette.Length - 1)];
                    for (var k = 0; k < bands; k++) pixels[o + k] = c[k];
                }
                else
                {
                    var p = row + (long)x * (bpp / 8);
                    pixels[o] = b[p + 2];
                    pixels[o + 1] = b[p + 1];
                    pixels[o + 2] = b[p];
                }
            }
        }
        return new Raster(width, height, bands, pixels, sixteenBitOrMore: false, lossy: false);
    }
}
