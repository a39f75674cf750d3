using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace MedSeg.Engine.Data.Dicom;

/// <summary>
/// A small reader of single-frame, uncompressed DICOM images (Part 10 files: a 128-byte preamble, <c>DICM</c>, the file
/// meta group): Implicit and Explicit VR Little Endian and Explicit VR Big Endian; MONOCHROME1 (inverted so that high
/// values are bright, as MONOCHROME2), MONOCHROME2 and RGB (interleaved or planar); 8 or 16 bits allocated, signed or
/// unsigned, Bits Stored honoured; Rescale Slope/Intercept applied to grey images (CT → Hounsfield units). Pixel Spacing
/// (0028,0030), else Imager Pixel Spacing (0018,1164), becomes <see cref="Raster.Spacing"/>.
/// Everything else is refused with an <see cref="ImageRefusedException"/> that names what the file is and how to convert
/// it (compressed transfer syntaxes, multi-frame files, SEG and RTSTRUCT objects, files without pixel data); a file that
/// ends early is an <see cref="InvalidDataException"/>. Rows × Columns are checked against <see cref="ImageLimits"/>, and
/// the pixel data's length against the file, before the pixel array is allocated.
/// </summary>
public static class DicomReader
{
    private const string SegSopClass = "1.2.840.10008.5.1.4.1.1.66.4";
    private const string RtStructSopClass = "1.2.840.10008.5.1.4.1.1.481.3";
    private const int MaxDepth = 16;

    /// <summary>True when the content has the Part 10 mark: <c>DICM</c> after the 128-byte preamble.</summary>
    public static bool HasPreamble(ReadOnlySpan<byte> head) => head.Length >= 132 && head[128..132].SequenceEqual("DICM"u8);

    /// <summary>Width and height from the attributes, checked (syntax, frames, photometric, limits) without allocating pixels.</summary>
    public static ImageHeader ReadHeader(byte[] bytes, ImageLimits limits)
    {
        var info = Parse(bytes, limits);
        return new ImageHeader(ImageFormat.Dicom, info.Columns, info.Rows);
    }

    public static Raster Decode(byte[] bytes, ImageLimits limits)
    {
        var d = Parse(bytes, limits);
        var (w, h, spp) = (d.Columns, d.Rows, d.SamplesPerPixel);
        var n = w * h;
        var pixels = new float[(long)n * spp];
        var data = bytes.AsSpan(d.PixelOffset, d.PixelBytesNeeded);
        var bytesPerSample = d.BitsAllocated / 8;
        var storedMask = d.BitsStored >= 32 ? uint.MaxValue : (1u << d.BitsStored) - 1;
        var signBit = 1u << (d.BitsStored - 1);
        var invertBase = d.Signed ? -1.0 : storedMask; // MONOCHROME1: max + min − v over the stored range
        var rescale = spp == 1 && (d.Slope != 1 || d.Intercept != 0);
        for (var s = 0; s < n * spp; s++)
        {
            uint raw = bytesPerSample == 1 ? data[s]
                : d.BigEndian ? BinaryPrimitives.ReadUInt16BigEndian(data.Slice(s * 2, 2)) : BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(s * 2, 2));
            raw &= storedMask;
            double v = d.Signed && (raw & signBit) != 0 ? (long)raw - (1L << d.BitsStored) : raw;
            if (d.Monochrome1) v = invertBase - v;
            if (rescale) v = v * d.Slope + d.Intercept;
            // Planar RGB (RRR…GGG…BBB) becomes interleaved.
            var target = spp == 3 && d.Planar ? (s % n) * 3 + s / n : s;
            pixels[target] = (float)v;
        }
        var spacing = d.SpacingX is { } x && d.SpacingY is { } y ? new PixelSpacing(x, y) : null;
        return new Raster(w, h, spp, pixels, d.BitsAllocated > 8, lossy: false) { Spacing = spacing };
    }

    private sealed record Parsed(int Rows, int Columns, int SamplesPerPixel, int BitsAllocated, int BitsStored, bool Signed, bool Monochrome1,
        bool Planar, double Slope, double Intercept, double? SpacingX, double? SpacingY, bool BigEndian, int PixelOffset, int PixelBytesNeeded);

    private static Parsed Parse(byte[] bytes, ImageLimits limits)
    {
        if (!HasPreamble(bytes)) throw new InvalidDataException("the file has no DICOM 'DICM' mark after the 128-byte preamble.");
        // The file meta group (0002,xxxx) is always Explicit VR Little Endian.
        var meta = new Cursor(bytes, 132, bigEndian: false, explicitVr: true);
        string? syntax = null;
        while (meta.Remaining >= 8 && meta.PeekGroup() == 0x0002)
        {
            var e = meta.Next();
            if (e.Tag == 0x0002_0010) syntax = Text(bytes, e);
            meta.Skip(e);
        }
        if (string.IsNullOrEmpty(syntax)) throw new InvalidDataException("the DICOM file meta has no Transfer Syntax UID (0002,0010); re-export the file.");
        if (!DicomTransferSyntax.IsRead(syntax)) throw new ImageRefusedException(DicomTransferSyntax.Problem(syntax));

        var big = syntax == DicomTransferSyntax.ExplicitBig;
        var c = new Cursor(bytes, meta.Position, big, explicitVr: syntax != DicomTransferSyntax.ImplicitLittle);
        var values = new Dictionary<uint, Element>();
        Element? pixelData = null;
        while (c.Remaining > 0)
        {
            var e = c.Next();
            if (e.Tag is 0x7FE0_0010 or 0x7FE0_0008 or 0x7FE0_0009)
            {
                pixelData = e;
                break;
            }
            if (e.Undefined) c.SkipUndefined(0);
            else
            {
                values[e.Tag] = e;
                c.Skip(e);
            }
        }

        string? Str(uint tag) => values.TryGetValue(tag, out var e) ? Text(bytes, e) : null;
        int? Us(uint tag) => values.TryGetValue(tag, out var e) && e.Length >= 2 && e.Offset + 2 <= bytes.Length
            ? big ? BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(e.Offset, 2)) : BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(e.Offset, 2))
            : null;

        var sopClass = Str(0x0008_0016) ?? "";
        if (sopClass == SegSopClass)
            throw new ImageRefusedException("the file is a DICOM SEG (segmentation object), which MedSeg does not read as a mask; convert it to a " +
                "label image (dcmqi: `segimage2itkimage --inputDICOM in.dcm --outputDirectory out`, or 3D Slicer) and save each slice's mask as PNG.");
        if (sopClass == RtStructSopClass)
            throw new ImageRefusedException("the file is a DICOM RTSTRUCT (contours, not pixels), which MedSeg does not read; rasterise the " +
                "contours into masks (e.g. `dcmrtstruct2nii` or 3D Slicer) and save each slice's mask as PNG.");
        if (pixelData is null)
            throw new ImageRefusedException($"the DICOM file holds no pixel data (7FE0,0010){(sopClass.Length > 0 ? $" (SOP class {sopClass})" : "")}: " +
                "it is not an image (a report, presentation state or other object); remove it, or export the image it belongs to.");
        if (pixelData.Value.Tag != 0x7FE0_0010)
            throw new ImageRefusedException("the DICOM file holds float pixel data (7FE0,0008/0009), which MedSeg does not read; " +
                "convert it to NIfTI with `dcm2niix -z y`, or export the image as 16-bit PNG or TIFF.");
        if (pixelData.Value.Undefined)
            throw new ImageRefusedException($"the DICOM pixel data is encapsulated (compressed) although the transfer syntax is {syntax}; " +
                "decompress it with GDCM (`gdcmconv --raw in.dcm out.dcm`).");

        var framesText = Str(0x0028_0008);
        var frames = int.TryParse(framesText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var f) ? f : 1;
        if (frames > 1)
            throw new ImageRefusedException($"the DICOM file holds {frames} frames (a multi-frame image); MedSeg reads single-frame 2D images: " +
                "convert it to NIfTI with `dcm2niix -z y` (volumes), or export each frame as a single-frame DICOM or PNG file.");
        var rows = Us(0x0028_0010) ?? 0;
        var columns = Us(0x0028_0011) ?? 0;
        if (rows <= 0 || columns <= 0)
            throw new InvalidDataException($"the DICOM file declares {columns} × {rows} pixels (Columns 0028,0011 × Rows 0028,0010); re-export it.");
        limits.CheckSize(columns, rows);

        var spp = Us(0x0028_0002) ?? 1;
        var photometric = (Str(0x0028_0004) ?? (spp == 3 ? "RGB" : "MONOCHROME2")).ToUpperInvariant();
        var supported = (spp, photometric) is (1, "MONOCHROME1" or "MONOCHROME2") or (3, "RGB");
        if (!supported)
            throw new ImageRefusedException($"the DICOM image is {photometric} with {spp} sample(s) per pixel; MedSeg reads MONOCHROME1, " +
                "MONOCHROME2 and RGB: convert it (GDCM: `gdcmconv --raw in.dcm out.dcm`, or dcmtk's `dcm2pnm`) or export it as PNG.");
        var allocated = Us(0x0028_0100) ?? 0;
        var stored = Us(0x0028_0101) ?? allocated;
        if (allocated is not (8 or 16) || stored < 1 || stored > allocated)
            throw new ImageRefusedException($"the DICOM image has {allocated} bits allocated ({stored} stored); MedSeg reads 8 or 16 bits " +
                "allocated: convert it to NIfTI with `dcm2niix -z y`, or export it as 16-bit PNG or TIFF.");
        var signed = (Us(0x0028_0103) ?? 0) == 1;
        var planar = spp == 3 && (Us(0x0028_0006) ?? 0) == 1;
        var slope = Number(Str(0x0028_1053)) is { } s && s != 0 ? s : 1;
        var intercept = Number(Str(0x0028_1052)) ?? 0;
        var (spacingY, spacingX) = Pair(Str(0x0028_0030)) ?? Pair(Str(0x0018_1164)) ?? (null, null);

        var needed = (long)rows * columns * spp * (allocated / 8);
        var available = Math.Min(pixelData.Value.Length, (long)bytes.Length - pixelData.Value.Offset);
        if (available < needed)
            throw new InvalidDataException($"the DICOM file is truncated: {columns} × {rows} × {spp} samples of {allocated} bits need {needed} bytes " +
                $"of pixel data, but {Math.Max(0, available)} follow; upload the complete file.");
        return new Parsed(rows, columns, spp, allocated, stored, signed, photometric == "MONOCHROME1", planar, slope, intercept,
            spacingX, spacingY, big, pixelData.Value.Offset, (int)needed);
    }

    private static string Text(byte[] bytes, Element e)
    {
        var length = (int)Math.Min(e.Length, Math.Max(0, bytes.Length - e.Offset));
        return Encoding.ASCII.GetString(bytes, e.Offset, Math.Min(length, 1024)).Trim(' ', '\0');
    }

    private static double? Number(string? text) =>
        double.TryParse(text?.Split('\\')[0].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;

    /// <summary>A DS pair "row\column" with both values positive and finite.</summary>
    private static (double? First, double? Second)? Pair(string? text)
    {
        var parts = text?.Split('\\');
        if (parts is not { Length: 2 }) return null;
        var (a, b) = (Number(parts[0]), Number(parts[1]));
        return a > 0 && b > 0 ? (a, b) : null;
    }

    private readonly record struct Element(uint Tag, long Length, int Offset)
    {
        public bool Undefined => Length == 0xFFFF_FFFF;
    }

    /// <summary>Reads data elements; every read is checked against the end of the file (a short file is "truncated").</summary>
    private sealed class Cursor(byte[] bytes, int position, bool bigEndian, bool explicitVr)
    {
        public int Position { get; private set; } = position;
        public int Remaining => bytes.Length - Position;

        public ushort PeekGroup() => U16(Position);

        public Element Next()
        {
            Need(8);
            var tag = (uint)U16(Position) << 16 | U16(Position + 2);
            Position += 4;
            long length;
            if (tag >> 16 == 0xFFFE || !explicitVr)
            {
                length = U32(Position);
                Position += 4;
            }
            else
            {
                var vr = Encoding.ASCII.GetString(bytes, Position, 2);
                if (vr is "OB" or "OW" or "OF" or "OD" or "OL" or "OV" or "SQ" or "UT" or "UN" or "UC" or "UR" or "SV" or "UV")
                {
                    Need(8);
                    length = U32(Position + 4);
                    Position += 8;
                }
                else
                {
                    length = U16(Position + 2);
                    Position += 4;
                }
            }
            return new Element(tag, length, Position);
        }

        public void Skip(Element e)
        {
            if (e.Length > Remaining) throw Truncated();
            Position += (int)e.Length;
        }

        /// <summary>Skips an undefined-length sequence: items (defined, or undefined up to their delimiter) up to the
        /// sequence delimiter, nested sequences included.</summary>
        public void SkipUndefined(int depth)
        {
            if (depth > MaxDepth) throw new InvalidDataException("the DICOM file nests sequences more than 16 deep; re-export it.");
            while (true)
            {
                var item = Next();
                if (item.Tag == 0xFFFE_E0DD) return; // sequence delimitation
                if (item.Tag != 0xFFFE_E000) throw new InvalidDataException($"the DICOM file has a malformed sequence (tag {item.Tag:X8} where an item was expected); re-export it.");
                if (!item.Undefined)
                {
                    Skip(item);
                    continue;
                }
                while (true)
                {
                    var e = Next();
                    if (e.Tag == 0xFFFE_E00D) break; // item delimitation
                    if (e.Undefined) SkipUndefined(depth + 1);
                    else Skip(e);
                }
            }
        }

        private void Need(int count)
        {
            if (Remaining < count) throw Truncated();
        }

        private static InvalidDataException Truncated() =>
            new("the DICOM file is truncated (a data element runs past the end of the file); upload the complete file.");

        private ushort U16(int at)
        {
            if (at + 2 > bytes.Length) throw Truncated();
            return bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at, 2)) : BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at, 2));
        }

        private uint U32(int at)
        {
            if (at + 4 > bytes.Length) throw Truncated();
            return bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at, 4)) : BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at, 4));
        }
    }
}
