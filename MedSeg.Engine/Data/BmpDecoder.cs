using System.Buffers.Binary;

namespace MedSeg.Engine.Data;

/// <summary>Uncompressed Windows BMP (1/4/8-bit palette, 24-bit, 32-bit; bottom-up or top-down), which is what
/// scanners and Paint write. Palette images whose palette is all grey decode to one band.</summary>
internal static class BmpDecoder
{
    public static Raster Decode(byte[] b)
    {
        try
        {
            return DecodeCore(b);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or ArgumentException)
        {
            throw new InvalidDataException("the BMP file is truncated or corrupt.", e);
        }
    }

    private static Raster DecodeCore(byte[] b)
    {
        if (b.Length < 54) throw new InvalidDataException("the BMP file is truncated (no complete header).");
        var dataOffset = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(10));
        var headerSize = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(14));
        var width = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(18));
        var rawHeight = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(22));
        var bpp = BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(28));
        var compression = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(30));
        var colorsUsed = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(46));
        var height = Math.Abs(rawHeight);
        var topDown = rawHeight < 0;
        if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
            throw new InvalidDataException($"the BMP header gives an impossible size {width}×{height}.");
        if (compression is not (0 or 3))
            throw new InvalidDataException("compressed (RLE) BMP files are not supported; save it as PNG.");
        if (bpp is not (1 or 4 or 8 or 24 or 32))
            throw new InvalidDataException($"{bpp}-bit BMP files are not supported; save it as PNG.");

        byte[][]? palette = null;
        var grey = true;
        if (bpp <= 8)
        {
            var count = colorsUsed > 0 ? colorsUsed : 1 << bpp;
            palette = new byte[count][];
            for (var i = 0; i < count; i++)
            {
                var o = 14 + headerSize + 4 * i;
                palette[i] = [b[o + 2], b[o + 1], b[o]];
                grey &= palette[i][0] == palette[i][1] && palette[i][1] == palette[i][2];
            }
        }
        else grey = false;

        var bands = grey ? 1 : 3;
        var stride = (width * bpp + 31) / 32 * 4;
        if (dataOffset + (long)stride * height > b.Length)
            throw new InvalidDataException("the BMP file is truncated (pixel data ends early).");
        var pixels = new float[width * height * bands];
        for (var y = 0; y < height; y++)
        {
            var row = dataOffset + stride * (topDown ? y : height - 1 - y);
            for (var x = 0; x < width; x++)
            {
                var o = (y * width + x) * bands;
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
                    var p = row + x * (bpp / 8);
                    pixels[o] = b[p + 2];
                    pixels[o + 1] = b[p + 1];
                    pixels[o + 2] = b[p];
                }
            }
        }
        return new Raster(width, height, bands, pixels, sixteenBitOrMore: false, lossy: false);
    }
}
