using System.Buffers.Binary;
using System.Text;

namespace MedSeg.Web.Tests.Support;

/// <summary>
/// Writes minimal DICOM Part 10 files for tests: preamble, DICM, a file meta group (Explicit VR Little Endian) with the
/// transfer syntax, then the image attributes and the pixel data in that syntax (implicit or explicit VR, little or big
/// endian). Enough for <c>DicomReader</c>; not a general DICOM writer.
/// </summary>
public sealed record DicomWriter
{
    public const string ImplicitLittle = "1.2.840.10008.1.2";
    public const string ExplicitLittle = "1.2.840.10008.1.2.1";
    public const string ExplicitBig = "1.2.840.10008.1.2.2";
    public const string JpegLossless = "1.2.840.10008.1.2.4.70";
    public const string CtImageStorage = "1.2.840.10008.5.1.4.1.1.2";
    public const string SegStorage = "1.2.840.10008.5.1.4.1.1.66.4";

    public string TransferSyntax { get; init; } = ExplicitLittle;
    public string SopClass { get; init; } = CtImageStorage;
    public int Rows { get; init; }
    public int Columns { get; init; }
    public int SamplesPerPixel { get; init; } = 1;
    public string Photometric { get; init; } = "MONOCHROME2";
    public int BitsAllocated { get; init; } = 16;
    public int? BitsStored { get; init; }
    public bool Signed { get; init; }
    public int PlanarConfiguration { get; init; }
    public int? Frames { get; init; }
    public string? PixelSpacing { get; init; }
    public string? ImagerPixelSpacing { get; init; }
    public double? RescaleSlope { get; init; }
    public double? RescaleIntercept { get; init; }
    public string Modality { get; init; } = "CT";
    /// <summary>Adds an undefined-length sequence before the image attributes (the reader must skip it).</summary>
    public bool WithSequence { get; init; }
    /// <summary>The pixel data as stored samples (8- or 16-bit per <see cref="BitsAllocated"/>); null = no Pixel Data element.</summary>
    public int[]? Samples { get; init; }

    public byte[] Write()
    {
        var bigEndian = TransferSyntax == ExplicitBig;
        var explicitVr = TransferSyntax != ImplicitLittle;
        var body = new MemoryStream();
        var el = new Elements(body, bigEndian, explicitVr);
        el.Text(0x0008, 0x0016, "UI", SopClass);
        if (WithSequence) el.UndefinedSequence(0x0008, 0x1140);
        el.Text(0x0008, 0x0060, "CS", Modality);
        if (ImagerPixelSpacing is not null) el.Text(0x0018, 0x1164, "DS", ImagerPixelSpacing);
        el.UShort(0x0028, 0x0002, SamplesPerPixel);
        el.Text(0x0028, 0x0004, "CS", Photometric);
        if (SamplesPerPixel == 3) el.UShort(0x0028, 0x0006, PlanarConfiguration);
        if (Frames is { } f) el.Text(0x0028, 0x0008, "IS", f.ToString(System.Globalization.CultureInfo.InvariantCulture));
        el.UShort(0x0028, 0x0010, Rows);
        el.UShort(0x0028, 0x0011, Columns);
        if (PixelSpacing is not null) el.Text(0x0028, 0x0030, "DS", PixelSpacing);
        el.UShort(0x0028, 0x0100, BitsAllocated);
        el.UShort(0x0028, 0x0101, BitsStored ?? BitsAllocated);
        el.UShort(0x0028, 0x0102, (BitsStored ?? BitsAllocated) - 1);
        el.UShort(0x0028, 0x0103, Signed ? 1 : 0);
        if (RescaleIntercept is { } i) el.Text(0x0028, 0x1052, "DS", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (RescaleSlope is { } s) el.Text(0x0028, 0x1053, "DS", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Samples is not null)
        {
            var data = new byte[Samples.Length * (BitsAllocated / 8)];
            for (var k = 0; k < Samples.Length; k++)
            {
                if (BitsAllocated == 8) data[k] = (byte)Samples[k];
                else if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(k * 2), (ushort)(short)Samples[k]);
                else BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(k * 2), (ushort)(short)Samples[k]);
            }
            el.Raw(0x7FE0, 0x0010, BitsAllocated == 8 ? "OB" : "OW", data);
        }

        var file = new MemoryStream();
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        var meta = new MemoryStream();
        var m = new Elements(meta, bigEndian: false, explicitVr: true);
        m.Raw(0x0002, 0x0001, "OB", [0, 1]);
        m.Text(0x0002, 0x0002, "UI", SopClass);
        m.Text(0x0002, 0x0003, "UI", "1.2.3.4.5.6.7");
        m.Text(0x0002, 0x0010, "UI", TransferSyntax);
        var group = new Elements(file, bigEndian: false, explicitVr: true);
        group.UInt(0x0002, 0x0000, (uint)meta.Length);
        meta.WriteTo(file);
        body.WriteTo(file);
        return file.ToArray();
    }

    /// <summary>A <paramref name="width"/> × <paramref name="height"/> 16-bit signed CT slice with rescale −1024 (HU = stored − 1024)
    /// whose stored values run 0, 1, 2, … (so HU −1024, −1023, …).</summary>
    public static DicomWriter Ct(int width, int height, string syntax = ExplicitLittle) => new()
    {
        TransferSyntax = syntax, Rows = height, Columns = width, Signed = true, RescaleIntercept = -1024, RescaleSlope = 1,
        PixelSpacing = "0.5\\0.75", Samples = [.. Enumerable.Range(0, width * height)],
    };

    private sealed class Elements(Stream s, bool bigEndian, bool explicitVr)
    {
        private void Tag(int group, int element)
        {
            U16(group);
            U16(element);
        }

        private void U16(int v)
        {
            Span<byte> b = stackalloc byte[2];
            if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)v); else BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v);
            s.Write(b);
        }

        private void U32(uint v)
        {
            Span<byte> b = stackalloc byte[4];
            if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            s.Write(b);
        }

        private void Header(int group, int element, string vr, uint length)
        {
            Tag(group, element);
            if (!explicitVr)
            {
                U32(length);
                return;
            }
            s.Write(Encoding.ASCII.GetBytes(vr));
            if (vr is "OB" or "OW" or "SQ" or "UN" or "UT")
            {
                U16(0);
                U32(length);
            }
            else U16((int)length);
        }

        public void Raw(int group, int element, string vr, byte[] value)
        {
            Header(group, element, vr, (uint)value.Length);
            s.Write(value);
        }

        public void Text(int group, int element, string vr, string value)
        {
            var bytes = Encoding.ASCII.GetBytes(value);
            if (bytes.Length % 2 == 1) bytes = [.. bytes, vr == "UI" ? (byte)0 : (byte)' '];
            Raw(group, element, vr, bytes);
        }

        public void UShort(int group, int element, int value)
        {
            Header(group, element, "US", 2);
            U16(value);
        }

        public void UInt(int group, int element, uint value)
        {
            Header(group, element, "UL", 4);
            U32(value);
        }

        /// <summary>A sequence of undefined length holding one item of undefined length with one text element.</summary>
        public void UndefinedSequence(int group, int element)
        {
            Header(group, element, "SQ", 0xFFFF_FFFF);
            Tag(0xFFFE, 0xE000);
            U32(0xFFFF_FFFF);
            Text(0x0008, 0x1150, "UI", "1.2.840.10008.5.1.4.1.1.2");
            Tag(0xFFFE, 0xE00D);
            U32(0);
            Tag(0xFFFE, 0xE0DD);
            U32(0);
        }
    }
}
