namespace MedSeg.Engine.Data.Dicom;

/// <summary>
/// The transfer syntaxes <see cref="DicomReader"/> reads (uncompressed: Implicit and Explicit VR Little Endian, Explicit VR
/// Big Endian), and for every other one its name and the command that converts a file of it into one MedSeg reads.
/// </summary>
public static class DicomTransferSyntax
{
    public const string ImplicitLittle = "1.2.840.10008.1.2";
    public const string ExplicitLittle = "1.2.840.10008.1.2.1";
    public const string ExplicitBig = "1.2.840.10008.1.2.2";

    private const string Raw = "GDCM (`gdcmconv --raw in.dcm out.dcm`)";

    /// <summary>Name and conversion advice of the syntaxes MedSeg does not read (UID → (name, how to convert)).</summary>
    private static readonly Dictionary<string, (string Name, string Convert)> Refused = new(StringComparer.Ordinal)
    {
        ["1.2.840.10008.1.2.1.99"] = ("Deflated Explicit VR Little Endian", Raw),
        ["1.2.840.10008.1.2.4.50"] = ("JPEG Baseline (Process 1)", $"dcmtk (`dcmdjpeg in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.51"] = ("JPEG Extended (Process 2 & 4)", $"dcmtk (`dcmdjpeg in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.57"] = ("JPEG Lossless, Non-Hierarchical (Process 14)", $"dcmtk (`dcmdjpeg in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.70"] = ("JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, SV1)", $"dcmtk (`dcmdjpeg in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.80"] = ("JPEG-LS Lossless", $"dcmtk (`dcmdjpls in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.81"] = ("JPEG-LS Lossy (Near-Lossless)", $"dcmtk (`dcmdjpls in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.90"] = ("JPEG 2000 Lossless", Raw),
        ["1.2.840.10008.1.2.4.91"] = ("JPEG 2000", Raw),
        ["1.2.840.10008.1.2.4.201"] = ("High-Throughput JPEG 2000 Lossless", Raw),
        ["1.2.840.10008.1.2.4.202"] = ("High-Throughput JPEG 2000 (RPCL) Lossless", Raw),
        ["1.2.840.10008.1.2.4.203"] = ("High-Throughput JPEG 2000", Raw),
        ["1.2.840.10008.1.2.5"] = ("RLE Lossless", $"dcmtk (`dcmdrle in.dcm out.dcm`) or {Raw}"),
        ["1.2.840.10008.1.2.4.100"] = ("MPEG2 video", "ffmpeg (extract the frames as PNG)"),
        ["1.2.840.10008.1.2.4.102"] = ("MPEG-4 AVC/H.264 video", "ffmpeg (extract the frames as PNG)"),
        ["1.2.840.10008.1.2.4.110"] = ("JPEG XL Lossless", Raw),
    };

    public static bool IsRead(string uid) => uid is ImplicitLittle or ExplicitLittle or ExplicitBig;

    /// <summary>The refusal of a syntax MedSeg does not read, naming it and what to run.</summary>
    public static string Problem(string uid)
    {
        var (name, convert) = Refused.TryGetValue(uid, out var known) ? known : ("an unknown or compressed transfer syntax", Raw);
        return $"the DICOM pixel data is stored as {name} ({uid}); MedSeg reads uncompressed DICOM only (Implicit or Explicit VR " +
               $"Little Endian). Decompress it with {convert}, or convert a series or multi-frame file to NIfTI with `dcm2niix -z y`.";
    }
}
