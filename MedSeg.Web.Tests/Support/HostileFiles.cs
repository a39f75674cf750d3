using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MedSeg.Web.Tests.Support;

/// <summary>
/// Hostile inputs, generated small on disk: a PNG that decodes to 30 000 × 30 000, files that are not what their name
/// says, BMP headers no real file has, and zip bombs. Large content is streamed, never held in memory.
/// </summary>
public static class HostileFiles
{
    public const int BombSide = 30_000;

    private static readonly Lazy<byte[]> PixelBombPng = new(() => Png(BombSide, BombSide));

    /// <summary>A valid 8-bit grey PNG of zeros, 30 000 × 30 000 (900 megapixels), about 0.9 MB: the IDAT is the real
    /// deflate stream of every zero row, so an unchecked decoder would allocate 0.9 GB (3.6 GB as floats).</summary>
    public static byte[] PixelBomb => PixelBombPng.Value;

    /// <summary>A valid grey PNG of zeros of any size (for small sizes: a real, decodable image).</summary>
    public static byte[] Png(int width, int height)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth; colour type 0 (grey), deflate, no filter, no interlace
        WriteChunk(png, "IHDR", ihdr);
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[width + 1]; // filter byte 0, then the zero samples
            for (var y = 0; y < height; y++) z.Write(row);
        }
        WriteChunk(png, "IDAT", idat.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>An SVG drawing (what a file named .png sometimes is), declaring 30 000 × 30 000.</summary>
    public static byte[] Svg => Encoding.UTF8.GetBytes(
        $"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{BombSide}\" height=\"{BombSide}\"><rect width=\"10\" height=\"10\"/></svg>");

    public static byte[] Html => "<!DOCTYPE html><html><body>404 Not Found</body></html>"u8.ToArray();

    /// <summary>An 8-bit BMP of <paramref name="width"/> × <paramref name="height"/> with a 256-colour grey palette, whose
    /// header fields can then be broken by <paramref name="tamper"/> (offsets: 10 data offset, 14 header size, 18 width,
    /// 22 height, 28 bits per pixel, 46 colours used).</summary>
    public static byte[] Bmp(int width = 8, int height = 8, Action<byte[]>? tamper = null)
    {
        var stride = (width + 3) / 4 * 4;
        var dataOffset = 14 + 40 + 256 * 4;
        var bytes = new byte[dataOffset + stride * height];
        "BM"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(2), bytes.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(10), dataOffset);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(28), 8);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(46), 256);
        for (var i = 0; i < 256; i++) bytes[54 + 4 * i] = bytes[55 + 4 * i] = bytes[56 + 4 * i] = (byte)i;
        tamper?.Invoke(bytes);
        return bytes;
    }

    public static void SetInt32(byte[] bytes, int offset, int value) => BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(offset), value);

    /// <summary>Writes a zip to <paramref name="path"/> by streaming entries into it (nothing of size is held in memory).</summary>
    public static string Zip(string path, Action<ZipArchive> fill)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        fill(zip);
        return path;
    }

    /// <summary>Adds an entry of <paramref name="bytes"/> zeros, deflated as hard as possible (1 GiB becomes about 1 MB).</summary>
    public static void AddZeros(ZipArchive zip, string name, long bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        var chunk = new byte[1 << 20];
        for (long left = bytes; left > 0; left -= chunk.Length) stream.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
    }

    public static void Add(ZipArchive zip, string name, byte[] content) => SyntheticDataset.Add(zip, name, content);

    /// <summary>A zip of <paramref name="count"/> empty stored entries (200 000 take about half a second and 22 MB).</summary>
    public static string ManyEntries(string path, int count) => Zip(path, zip =>
    {
        for (var i = 0; i < count; i++) zip.CreateEntry($"images/case-{i:D6}.png", CompressionLevel.NoCompression);
    });

    /// <summary>Rewrites the uncompressed size in the local and central headers of a one-entry zip: a crafted archive
    /// whose headers understate what its deflate stream holds.</summary>
    public static void DeclareUncompressedSize(string zipPath, uint size)
    {
        var bytes = File.ReadAllBytes(zipPath);
        for (var i = 0; i + 4 <= bytes.Length; i++)
        {
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), size);
            else if (signature == 0x02014b50) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size);
        }
        File.WriteAllBytes(zipPath, bytes);
    }

    private static void WriteChunk(Stream png, string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        png.Write(chunk);
    }

    private static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }
}

/// <summary>A read-only stream of zeros of a given length, generated as it is read.</summary>
public sealed class ZeroStream(long length) : Stream
{
    private long position;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => length;
    public override long Position { get => position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = (int)Math.Min(count, length - position);
        Array.Clear(buffer, offset, n);
        position += n;
        return n;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
