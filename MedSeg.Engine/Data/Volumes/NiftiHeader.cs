using System.Buffers.Binary;
using System.Text;

namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// The fields of a NIfTI-1 or NIfTI-2 header that MedSeg uses, as stored (NIfTI-1's float32 fields widened to double, so
/// they write back exactly), and what follows from them: shape, spacing in mm and the voxel → world affine.
/// Only <see cref="Parse"/> makes one, and it has checked every field the reader and writer rely on.
/// </summary>
public sealed class NiftiHeader
{
    public const int Nifti1Size = 348;
    public const int Nifti2Size = 540;

    /// <summary>1 or 2.</summary>
    public int Version { get; private init; }
    public bool BigEndian { get; private init; }
    public NiftiDatatype Datatype { get; private init; }
    /// <summary><c>dim[0..7]</c> as stored (dim[0] = number of dimensions).</summary>
    public IReadOnlyList<long> Dim { get; private init; } = [];
    /// <summary><c>pixdim[0..7]</c> as stored (pixdim[0] = qfac).</summary>
    public IReadOnlyList<double> Pixdim { get; private init; } = [];
    public long VoxOffset { get; private init; }
    public double SclSlope { get; private init; }
    public double SclInter { get; private init; }
    public int XyztUnits { get; private init; }
    public int QformCode { get; private init; }
    public int SformCode { get; private init; }
    /// <summary>quatern_b, c, d, qoffset_x, y, z.</summary>
    public IReadOnlyList<double> Quaternion { get; private init; } = [];
    /// <summary>srow_x, srow_y, srow_z (12 values, row by row).</summary>
    public IReadOnlyList<double> Srow { get; private init; } = [];
    public int DimInfo { get; private init; }

    /// <summary>Spatial size: dim[1..3] (1 beyond dim[0]).</summary>
    public (int X, int Y, int Z) Shape { get; private init; }
    /// <summary>dim[4] when dim[0] ≥ 4 (channels, or time points, read as channels), else 1.</summary>
    public int Channels { get; private init; }
    public long VoxelCount => (long)Shape.X * Shape.Y * Shape.Z * Channels;
    public int BytesPerVoxel => BytesOf(Datatype);
    /// <summary>Voxel size in mm (|pixdim[1..3]| × the xyzt_units factor; 1 for an axis beyond dim[0]).</summary>
    public (double X, double Y, double Z) Spacing { get; private init; }
    /// <summary>Voxel (i, j, k, 1) → world (x, y, z, 1) in mm, row-major 4 × 4: the sform when sform_code &gt; 0, else the
    /// qform when qform_code &gt; 0, else pixdim scaling (NIfTI's method 1). World is NIfTI's RAS+.</summary>
    public double[,] Affine { get; private init; } = new double[4, 4];
    /// <summary>Which of <c>"sform"</c>, <c>"qform"</c>, <c>"pixdim"</c> gave <see cref="Affine"/>.</summary>
    public string AffineSource { get; private init; } = "";
    /// <summary>How the stored axes map to canonical RAS+.</summary>
    public VolumeOrientation Orientation { get; private init; } = null!;

    internal static int BytesOf(NiftiDatatype t) => t switch
    {
        NiftiDatatype.UInt8 or NiftiDatatype.Int8 => 1,
        NiftiDatatype.Int16 or NiftiDatatype.UInt16 => 2,
        NiftiDatatype.Int32 or NiftiDatatype.UInt32 or NiftiDatatype.Float32 => 4,
        _ => 8,
    };

    /// <summary>The header size a file starts with, from its first four bytes in either byte order (0 when neither).</summary>
    internal static (int Size, bool BigEndian) SizeOf(ReadOnlySpan<byte> first4)
    {
        var little = BinaryPrimitives.ReadInt32LittleEndian(first4);
        var big = BinaryPrimitives.ReadInt32BigEndian(first4);
        if (little is Nifti1Size or Nifti2Size) return (little, false);
        if (big is Nifti1Size or Nifti2Size) return (big, true);
        return (0, false);
    }

    /// <summary>Parses and checks a whole header (348 or 540 bytes). Throws <see cref="VolumeRefusedException"/>.</summary>
    internal static NiftiHeader Parse(ReadOnlySpan<byte> h, string file)
    {
        var (size, big) = SizeOf(h);
        var r = new Reader(h, big);
        return size == Nifti1Size ? ParseV1(r, h, file) : ParseV2(r, h, file);
    }

    private static NiftiHeader ParseV1(Reader r, ReadOnlySpan<byte> h, string file)
    {
        var magic = h.Slice(344, 4);
        if (magic.SequenceEqual("ni1\0"u8))
            throw new VolumeRefusedException(file, "the header is of a NIfTI-1 .hdr/.img pair (magic 'ni1'); MedSeg reads single-file " +
                "NIfTI (.nii, .nii.gz): convert the pair, e.g. with nibabel or 3D Slicer, and add the .nii.gz.");
        if (!magic.SequenceEqual("n+1\0"u8))
            throw new VolumeRefusedException(file, $"the NIfTI-1 magic at byte 344 is {Show(magic)}, not 'n+1'; the file is not NIfTI or is corrupt.");
        var dim = new long[8];
        for (var i = 0; i < 8; i++) dim[i] = r.I16(40 + 2 * i);
        var pixdim = new double[8];
        for (var i = 0; i < 8; i++) pixdim[i] = r.F32(76 + 4 * i);
        var q = new double[6];
        for (var i = 0; i < 6; i++) q[i] = r.F32(256 + 4 * i);
        var srow = new double[12];
        for (var i = 0; i < 12; i++) srow[i] = r.F32(280 + 4 * i);
        var voxOffset = r.F32(108);
        if (!double.IsFinite(voxOffset) || voxOffset != Math.Floor(voxOffset) || voxOffset > long.MaxValue / 2)
            throw new VolumeRefusedException(file, $"vox_offset is {Num(voxOffset)}, not a whole byte offset; the header is corrupt.");
        return Build(file, version: 1, r.BigEndian, datatype: r.I16(70), dim, pixdim, (long)voxOffset, r.F32(112), r.F32(116),
            xyztUnits: h[123], qformCode: r.I16(252), sformCode: r.I16(254), q, srow, dimInfo: h[39]);
    }

    private static NiftiHeader ParseV2(Reader r, ReadOnlySpan<byte> h, string file)
    {
        var magic = h.Slice(4, 8);
        if (magic.SequenceEqual("ni2\0\r\n\u001a\n"u8))
            throw new VolumeRefusedException(file, "the header is of a NIfTI-2 .hdr/.img pair (magic 'ni2'); MedSeg reads single-file " +
                "NIfTI (.nii, .nii.gz): convert the pair and add the .nii.gz.");
        if (!magic.SequenceEqual("n+2\0\r\n\u001a\n"u8))
            throw new VolumeRefusedException(file, $"the NIfTI-2 magic at byte 4 is {Show(magic)}, not 'n+2'; the file is not NIfTI or is corrupt.");
        var dim = new long[8];
        for (var i = 0; i < 8; i++) dim[i] = r.I64(16 + 8 * i);
        var pixdim = new double[8];
        for (var i = 0; i < 8; i++) pixdim[i] = r.F64(104 + 8 * i);
        var q = new double[6];
        for (var i = 0; i < 6; i++) q[i] = r.F64(352 + 8 * i);
        var srow = new double[12];
        for (var i = 0; i < 12; i++) srow[i] = r.F64(400 + 8 * i);
        return Build(file, version: 2, r.BigEndian, datatype: r.I16(12), dim, pixdim, r.I64(168), r.F64(176), r.F64(184),
            xyztUnits: r.I32(500), qformCode: r.I32(344), sformCode: r.I32(348), q, srow, dimInfo: h[524]);
    }

    private static NiftiHeader Build(string file, int version, bool big, int datatype, long[] dim, double[] pixdim, long voxOffset,
        double slope, double inter, int xyztUnits, int qformCode, int sformCode, double[] q, double[] srow, int dimInfo)
    {
        var type = CheckDatatype(datatype, file);
        if (dim[0] is < 1 or > 7)
            throw new VolumeRefusedException(file, $"dim[0] (the number of dimensions) is {dim[0]}, outside 1 … 7; the header is corrupt.");
        for (var i = 1; i <= dim[0]; i++)
            if (dim[i] <= 0)
                throw new VolumeRefusedException(file, $"dim[{i}] is {dim[i]}; every dimension must be at least 1 (the header is corrupt).");
        for (var i = 5; i <= dim[0]; i++)
            if (dim[i] != 1)
                throw new VolumeRefusedException(file, $"the volume has {dim[0]} dimensions (dim[{i}] = {dim[i]}); MedSeg reads 3D volumes " +
                    "and 4D ones whose 4th dimension is channels. Split it into 3D or 4D files.");
        long D(int i) => i <= dim[0] ? dim[i] : 1;
        foreach (var i in new[] { 1, 2, 3, 4 })
            if (D(i) > int.MaxValue)
                throw new VolumeRefusedException(file, $"dim[{i}] is {D(i)}, more voxels along one axis than MedSeg reads.");
        // NIfTI-2 dims are 64-bit: bound the product before anything multiplies it (VoxelCount, byte counts) in a long.
        if ((double)D(1) * D(2) * D(3) * D(4) > 1e15)
            throw new VolumeRefusedException(file, $"the header declares {D(1)} × {D(2)} × {D(3)} × {D(4)} voxels, more than any volume file " +
                "holds; the header is corrupt.");
        var headerSize = version == 1 ? Nifti1Size : Nifti2Size;
        if (voxOffset < headerSize + 4)
            throw new VolumeRefusedException(file, $"vox_offset is {voxOffset}, inside the {headerSize}-byte header (it must be at least " +
                $"{headerSize + 4} in a single-file NIfTI); the header is corrupt.");

        var unit = (xyztUnits & 7) switch { 1 => 1000.0, 3 => 0.001, _ => 1.0 }; // metre, micron; mm or unknown
        double Zoom(int i)
        {
            if (i > dim[0]) return 1;
            var p = Math.Abs(pixdim[i]);
            if (!double.IsFinite(p) || p == 0)
                throw new VolumeRefusedException(file, $"pixdim[{i}] (the voxel size along axis {i - 1}) is {Num(pixdim[i])}; it must be a " +
                    "positive number. Fix the header (e.g. set the voxel size in 3D Slicer) and export it again.");
            return p * unit;
        }
        var spacing = (Zoom(1), Zoom(2), Zoom(3));

        double[,] affine;
        string source;
        if (sformCode > 0)
        {
            affine = new double[4, 4];
            for (var row = 0; row < 3; row++)
            for (var col = 0; col < 4; col++)
                affine[row, col] = srow[4 * row + col] * unit;
            affine[3, 3] = 1;
            source = "sform";
        }
        else if (qformCode > 0)
        {
            affine = QformAffine(q, pixdim, spacing, unit);
            source = "qform";
        }
        else
        {
            affine = new double[4, 4];
            (affine[0, 0], affine[1, 1], affine[2, 2], affine[3, 3]) = (spacing.Item1, spacing.Item2, spacing.Item3, 1);
            source = "pixdim";
        }
        foreach (var v in affine)
            if (!double.IsFinite(v))
                throw new VolumeRefusedException(file, $"the {source} holds a value that is not a finite number; the header is corrupt.");
        var orientation = VolumeOrientation.FromAffine(affine)
            ?? throw new VolumeRefusedException(file, $"the {source} is singular (its axes do not span 3D space), so the volume has no " +
                "orientation; fix the header's sform/qform and export it again.");

        return new NiftiHeader
        {
            Version = version, BigEndian = big, Datatype = type, Dim = dim, Pixdim = pixdim, VoxOffset = voxOffset,
            SclSlope = slope, SclInter = inter, XyztUnits = xyztUnits, QformCode = qformCode, SformCode = sformCode,
            Quaternion = q, Srow = srow, DimInfo = dimInfo,
            Shape = ((int)D(1), (int)D(2), (int)D(3)), Channels = (int)D(4), Spacing = spacing,
            Affine = affine, AffineSource = source, Orientation = orientation,
        };
    }

    /// <summary>NIfTI's method 2: rotation from the quaternion (a = √(1 − b² − c² − d²)), zooms |pixdim[1..3]| with
    /// qfac = pixdim[0] (−1 when negative, else 1) on the third, then qoffset.</summary>
    private static double[,] QformAffine(double[] q, double[] pixdim, (double X, double Y, double Z) spacing, double unit)
    {
        var (b, c, d) = (q[0], q[1], q[2]);
        var aa = 1 - (b * b + c * c + d * d);
        double a;
        if (aa < 1e-7)
        {
            // b, c, d describe a 180° rotation (a = 0): renormalise them, as nifti1_io does.
            var n = Math.Sqrt(b * b + c * c + d * d);
            (a, b, c, d) = (0, b / n, c / n, d / n);
        }
        else a = Math.Sqrt(aa);
        var qfac = pixdim[0] < 0 ? -1.0 : 1.0;
        var rot = new[,]
        {
            { a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c) },
            { 2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b) },
            { 2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b },
        };
        var zoom = new[] { spacing.X, spacing.Y, spacing.Z * qfac };
        var affine = new double[4, 4];
        for (var row = 0; row < 3; row++)
        {
            for (var col = 0; col < 3; col++) affine[row, col] = rot[row, col] * zoom[col];
            affine[row, 3] = q[3 + row] * unit;
        }
        affine[3, 3] = 1;
        return affine;
    }

    private static NiftiDatatype CheckDatatype(int code, string file)
    {
        if (code is >= short.MinValue and <= short.MaxValue && Enum.IsDefined((NiftiDatatype)(short)code)) return (NiftiDatatype)(short)code;
        var name = code switch
        {
            1 => "binary (1 bit)",
            32 => "complex64",
            128 => "RGB24",
            1536 => "float128",
            1792 => "complex128",
            2048 => "complex256",
            2304 => "RGBA32",
            _ => null,
        };
        throw new VolumeRefusedException(file, name is null
            ? $"datatype {code} is not a NIfTI data type; the header is corrupt."
            : $"the voxels are {name} (datatype {code}), which MedSeg does not read; it reads (u)int8/16/32/64, float32 and float64 " +
              "scalar volumes. Convert the file (e.g. to float32, or one file per colour channel).");
    }

    private static string Show(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder("'");
        foreach (var b in bytes)
            sb.Append(b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:x2}");
        return sb.Append('\'').ToString();
    }

    internal static string Num(double v) => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture);

    private readonly ref struct Reader(ReadOnlySpan<byte> h, bool big)
    {
        private readonly ReadOnlySpan<byte> h = h;
        private readonly bool big = big;
        public bool BigEndian => big;
        public short I16(int at) => big ? BinaryPrimitives.ReadInt16BigEndian(h[at..]) : BinaryPrimitives.ReadInt16LittleEndian(h[at..]);
        public int I32(int at) => big ? BinaryPrimitives.ReadInt32BigEndian(h[at..]) : BinaryPrimitives.ReadInt32LittleEndian(h[at..]);
        public long I64(int at) => big ? BinaryPrimitives.ReadInt64BigEndian(h[at..]) : BinaryPrimitives.ReadInt64LittleEndian(h[at..]);
        public double F32(int at) => big ? BinaryPrimitives.ReadSingleBigEndian(h[at..]) : BinaryPrimitives.ReadSingleLittleEndian(h[at..]);
        public double F64(int at) => big ? BinaryPrimitives.ReadDoubleBigEndian(h[at..]) : BinaryPrimitives.ReadDoubleLittleEndian(h[at..]);
    }
}
