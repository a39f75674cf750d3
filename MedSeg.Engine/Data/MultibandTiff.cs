using System.Buffers.Binary;
using NetVips;

namespace MedSeg.Engine.Data;

/// <summary>
/// Multi-band TIFF: grey (<c>PhotometricInterpretation</c> MinIsBlack) whose extra samples are <c>ExtraSamples</c> 0,
/// "unspecified data", not alpha: one band per channel (the channels of an MRI slice, a slice's modalities). The TIFF standard
/// says only associated (1) or unassociated (2) extra samples are alpha, so these bands are image data; ordinary grey +
/// alpha and RGBA TIFFs mark their alpha 1 or 2 and decode as before. libvips writes every extra sample as unassociated
/// alpha and has no option for unspecified, so <see cref="Encode"/> rewrites those values in the file it wrote.
/// </summary>
public static class MultibandTiff
{
    private const ushort PhotometricTag = 262, ExtraSamplesTag = 338;

    /// <summary>Float32 samples, interleaved (rows, columns, bands), as a deflate-compressed TIFF holding the values as they are.</summary>
    public static byte[] Encode(float[] pixels, int width, int height, int bands)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bands, 1);
        if (pixels.Length != (long)width * height * bands)
            throw new ArgumentException($"{pixels.Length} samples given for {width} × {height} × {bands}.", nameof(pixels));
        using var image = Image.NewFromMemory(pixels, width, height, bands, Enums.BandFormat.Float);
        // B_W: MinIsBlack with bands − 1 extra samples (a multi-band interpretation would be written as RGB for 3+ bands).
        using var grey = image.Copy(interpretation: Enums.Interpretation.Bw);
        var tiff = grey.TiffsaveBuffer(compression: Enums.ForeignTiffCompression.Deflate, predictor: Enums.ForeignTiffPredictor.Float);
        if (bands > 1 && !RewriteExtraSamples(tiff, 0))
            throw new InvalidOperationException("libvips wrote a TIFF without the expected ExtraSamples tag.");
        return tiff;
    }

    /// <summary>True when <paramref name="tiff"/> (a classic or BigTIFF file) is grey with more than one band and every extra
    /// sample of its first image is unspecified data (0), i.e. not alpha.</summary>
    public static bool IsMultiband(ReadOnlySpan<byte> tiff)
    {
        var tags = Tags(tiff);
        if (tags is null || !tags.TryGetValue(PhotometricTag, out var photometric) || photometric.Values.Length != 1 || photometric.Values[0] > 1)
            return false;
        return tags.TryGetValue(ExtraSamplesTag, out var extra) && extra.Values.Length > 0 && extra.Values.All(v => v == 0);
    }

    private sealed record Tag(ulong[] Values, long[] Offsets);

    /// <summary>Sets every ExtraSamples value of the first image to <paramref name="value"/>, in place.</summary>
    private static bool RewriteExtraSamples(byte[] tiff, ushort value)
    {
        if (Tags(tiff) is not { } tags || !tags.TryGetValue(ExtraSamplesTag, out var extra)) return false;
        var little = tiff[0] == (byte)'I';
        foreach (var at in extra.Offsets)
            if (little) BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan((int)at), value);
            else BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan((int)at), value);
        return true;
    }

    /// <summary>PhotometricInterpretation and ExtraSamples of the first IFD (values and where each is stored), or null when the
    /// file is not a TIFF this reads. Bounds are checked against the buffer; nothing is allocated beyond those two tags' values.</summary>
    private static Dictionary<ushort, Tag>? Tags(ReadOnlySpan<byte> b)
    {
        if (b.Length < 16) return null;
        var little = b[0] == 'I' && b[1] == 'I';
        if (!little && !(b[0] == 'M' && b[1] == 'M')) return null;
        ushort U16(ReadOnlySpan<byte> s, long at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(s[(int)at..]) : BinaryPrimitives.ReadUInt16BigEndian(s[(int)at..]);
        uint U32(ReadOnlySpan<byte> s, long at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(s[(int)at..]) : BinaryPrimitives.ReadUInt32BigEndian(s[(int)at..]);
        ulong U64(ReadOnlySpan<byte> s, long at) => little ? BinaryPrimitives.ReadUInt64LittleEndian(s[(int)at..]) : BinaryPrimitives.ReadUInt64BigEndian(s[(int)at..]);
        var version = U16(b, 2);
        if (version is not (42 or 43)) return null;
        var big = version == 43;
        var ifd = big ? (long)Math.Min(U64(b, 8), long.MaxValue) : U32(b, 4);
        var (countSize, entrySize, inline) = big ? (8, 20, 8) : (2, 12, 4);
        if (ifd <= 0 || ifd > b.Length - countSize) return null;
        var entries = big ? (long)Math.Min(U64(b, ifd), 4096) : U16(b, ifd);
        var tags = new Dictionary<ushort, Tag>();
        for (long i = 0; i < entries; i++)
        {
            var e = ifd + countSize + i * entrySize;
            if (e + entrySize > b.Length) return null;
            var (tag, type) = (U16(b, e), U16(b, e + 2));
            // Only the two SHORT tags read here, each once: a hostile file's many or repeated entries cost nothing.
            if (type != 3 || tag is not (PhotometricTag or ExtraSamplesTag) || tags.ContainsKey(tag)) continue;
            var count = big ? (long)Math.Min(U64(b, e + 4), 1 << 16) : Math.Min(U32(b, e + 4), 1u << 16);
            var valueAt = e + (big ? 12 : 8);
            var start = 2 * count <= inline ? valueAt : big ? (long)Math.Min(U64(b, valueAt), long.MaxValue) : U32(b, valueAt);
            if (start < 0 || start + 2 * count > b.Length) return null;
            var values = new ulong[count];
            var offsets = new long[count];
            for (var k = 0; k < count; k++) (values[k], offsets[k]) = (U16(b, start + 2 * k), start + 2 * k);
            tags[tag] = new Tag(values, offsets);
        }
        return tags;
    }
}
