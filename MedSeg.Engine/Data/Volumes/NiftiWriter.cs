using System.Buffers.Binary;
using System.IO.Compression;

namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// Writes label volumes (a prediction) as <c>.nii.gz</c> over the geometry of the volume they were predicted for, so that
/// 3D Slicer or ITK-SNAP open them over the original scan: the same NIfTI version, dims 1 … 3, pixdim (qfac included),
/// xyzt_units, qform and sform (codes, quaternion, offsets and rows copied as stored), little-endian, with the label
/// fields set: datatype uint8 or int16 and its bitpix, scl_slope 1 and scl_inter 0, intent NIFTI_INTENT_LABEL,
/// no extensions, vox_offset 352 (NIfTI-1) or 544 (NIfTI-2). Images (<see cref="WriteImage"/>: one channel of a volume,
/// float32) get the same geometry without the label intent; <see cref="WriteSlab"/> writes a 2D image as a one-slice
/// volume with its pixel spacing.
/// </summary>
public static class NiftiWriter
{
    private const short IntentLabel = 1002;

    /// <summary>Writes <paramref name="labels"/> in <paramref name="like"/>'s stored voxel order (x fastest; one value per
    /// spatial voxel) to <paramref name="path"/>, replacing it in one rename.</summary>
    public static void WriteLabels(string path, NiftiHeader like, ReadOnlySpan<short> labels, NiftiDatatype datatype = NiftiDatatype.UInt8)
    {
        if (datatype is not (NiftiDatatype.UInt8 or NiftiDatatype.Int16))
            throw new ArgumentException($"label volumes are written as UInt8 or Int16, not {datatype}.", nameof(datatype));
        var count = (long)like.Shape.X * like.Shape.Y * like.Shape.Z;
        if (labels.Length != count)
            throw new ArgumentException($"{labels.Length} labels given for a {like.Shape.X} × {like.Shape.Y} × {like.Shape.Z} volume.", nameof(labels));
        var size = NiftiHeader.BytesOf(datatype);
        var data = new byte[count * size];
        for (var i = 0; i < labels.Length; i++)
        {
            var v = labels[i];
            if (datatype == NiftiDatatype.UInt8)
            {
                if (v is < 0 or > 255) throw new ArgumentException($"label {v} does not fit uint8; write Int16.", nameof(labels));
                data[i] = (byte)v;
            }
            else BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(2 * i), v);
        }
        Write(path, like.Version == 1 ? Nifti1(Geometry.Of(like), datatype, IntentLabel) : Nifti2(like, datatype, IntentLabel), data);
    }

    /// <summary>Writes one channel of an image volume (<paramref name="voxels"/> in <paramref name="like"/>'s stored order,
    /// x fastest) as float32 with <paramref name="like"/>'s geometry, no intent, to <paramref name="path"/>.</summary>
    public static void WriteImage(string path, NiftiHeader like, ReadOnlySpan<float> voxels)
    {
        using var file = Replacing(path, out var commit);
        WriteImage(file, like, voxels);
        file.Dispose();
        commit();
    }

    /// <summary><see cref="WriteImage(string, NiftiHeader, ReadOnlySpan{float})"/> as gzip into <paramref name="output"/> (left open).</summary>
    public static void WriteImage(Stream output, NiftiHeader like, ReadOnlySpan<float> voxels)
    {
        var count = (long)like.Shape.X * like.Shape.Y * like.Shape.Z;
        if (voxels.Length != count)
            throw new ArgumentException($"{voxels.Length} voxels given for a {like.Shape.X} × {like.Shape.Y} × {like.Shape.Z} volume.", nameof(voxels));
        Write(output, like.Version == 1 ? Nifti1(Geometry.Of(like), NiftiDatatype.Float32, 0) : Nifti2(like, NiftiDatatype.Float32, 0), Floats(voxels));
    }

    /// <summary>
    /// Writes a 2D image or label map as a NIfTI-1 volume of one slice, <paramref name="width"/> × <paramref name="height"/> × 1:
    /// voxel (i, j, 0) is column i and row <c>height − 1 − j</c> (row 0 at the top, as <see cref="VolumeSlicer"/> shows an
    /// axial slice, so slicing the file axially gives the image back), spacing <paramref name="spacingX"/> ×
    /// <paramref name="spacingY"/> × 1 mm, sform and qform the scaling alone (RAS). <paramref name="pixels"/> is row-major, one
    /// value a pixel; labels are written as uint8 with the label intent, images as float32. Gzip into <paramref name="output"/>
    /// (left open).
    /// </summary>
    public static void WriteSlab(Stream output, ReadOnlySpan<float> pixels, int width, int height, double spacingX, double spacingY, bool labels)
    {
        if (pixels.Length != (long)width * height)
            throw new ArgumentException($"{pixels.Length} pixels given for a {width} × {height} image.", nameof(pixels));
        var flipped = new float[pixels.Length];
        for (var r = 0; r < height; r++) pixels.Slice(r * width, width).CopyTo(flipped.AsSpan((height - 1 - r) * width, width));
        var type = labels ? NiftiDatatype.UInt8 : NiftiDatatype.Float32;
        byte[] data;
        if (labels)
        {
            data = new byte[flipped.Length];
            for (var i = 0; i < flipped.Length; i++)
            {
                var v = flipped[i];
                if (v is < 0 or > 255 || v != MathF.Round(v)) throw new ArgumentException($"label {v} does not fit uint8.", nameof(pixels));
                data[i] = (byte)v;
            }
        }
        else data = Floats(flipped);
        Write(output, Nifti1(Geometry.Slab(width, height, spacingX, spacingY), type, labels ? IntentLabel : (short)0), data);
    }

    private static byte[] Floats(ReadOnlySpan<float> values)
    {
        var data = new byte[values.Length * 4L];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4 * i), values[i]);
        return data;
    }

    private static void Write(string path, byte[] header, byte[] data)
    {
        using var file = Replacing(path, out var commit);
        Write(file, header, data);
        file.Dispose();
        commit();
    }

    /// <summary>header, no extensions, data: gzip-compressed into <paramref name="output"/>, which stays open.</summary>
    private static void Write(Stream output, byte[] header, byte[] data)
    {
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        gzip.Write(header);
        gzip.Write(new byte[4]); // extension flag: none
        gzip.Write(data);
    }

    /// <summary>A temporary file beside <paramref name="path"/>; <paramref name="commit"/> renames it over the path.</summary>
    private static FileStream Replacing(string path, out Action commit)
    {
        var temp = path + ".tmp";
        commit = () => File.Move(temp, path, overwrite: true);
        return new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None);
    }

    /// <summary>What a NIfTI-1 header written here holds besides the data type: dims 1 … 3, pixdim, units and both transforms.</summary>
    private sealed record Geometry(int X, int Y, int Z, double[] Pixdim, int XyztUnits, int DimInfo, int QformCode, int SformCode,
        IReadOnlyList<double> Quaternion, IReadOnlyList<double> Srow)
    {
        /// <summary>pixdim[0] (qfac) and the spatial voxel sizes as stored; 1 for the dimensions a written volume does not have.</summary>
        public static Geometry Of(NiftiHeader like) => new(like.Shape.X, like.Shape.Y, like.Shape.Z,
            [.. Enumerable.Range(0, 8).Select(i => NiftiWriter.Pixdim(like, i))], like.XyztUnits, like.DimInfo, like.QformCode, like.SformCode,
            like.Quaternion, like.Srow);

        /// <summary>A one-slice volume in mm (xyzt_units 2), scanner-aligned: identity rotation, scaling by the spacing.</summary>
        public static Geometry Slab(int width, int height, double sx, double sy) => new(width, height, 1, [1, sx, sy, 1, 1, 1, 1, 1],
            XyztUnits: 2, DimInfo: 0, QformCode: 1, SformCode: 1, Quaternion: [0, 0, 0, 0, 0, 0], Srow: [sx, 0, 0, 0, 0, sy, 0, 0, 0, 0, 1, 0]);
    }

    /// <summary><see cref="VolumeSlicer.Unslice"/> then <see cref="WriteLabels"/>: label slices in canonical orientation along
    /// <paramref name="axis"/> written as a volume over <paramref name="like"/>.</summary>
    public static void WriteLabelSlices(string path, NiftiHeader like, SliceAxis axis, IReadOnlyList<short[]> slices,
        NiftiDatatype datatype = NiftiDatatype.UInt8) =>
        WriteLabels(path, like, VolumeSlicer.Unslice(like, axis, slices), datatype);

    private static byte[] Nifti1(Geometry like, NiftiDatatype type, short intent)
    {
        var h = new byte[NiftiHeader.Nifti1Size];
        var s = h.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(s, NiftiHeader.Nifti1Size);
        h[38] = (byte)'r'; // "regular", as nibabel writes
        h[39] = (byte)like.DimInfo;
        short[] dim = [3, (short)like.X, (short)like.Y, (short)like.Z, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteInt16LittleEndian(s[(40 + 2 * i)..], dim[i]);
        BinaryPrimitives.WriteInt16LittleEndian(s[68..], intent);
        BinaryPrimitives.WriteInt16LittleEndian(s[70..], (short)type);
        BinaryPrimitives.WriteInt16LittleEndian(s[72..], (short)(8 * NiftiHeader.BytesOf(type)));
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(76 + 4 * i)..], (float)like.Pixdim[i]);
        BinaryPrimitives.WriteSingleLittleEndian(s[108..], NiftiHeader.Nifti1Size + 4);
        BinaryPrimitives.WriteSingleLittleEndian(s[112..], 1);
        BinaryPrimitives.WriteSingleLittleEndian(s[116..], 0);
        h[123] = (byte)like.XyztUnits;
        (intent == IntentLabel ? "MedSeg label volume"u8 : "MedSeg image"u8).CopyTo(s[148..]);
        BinaryPrimitives.WriteInt16LittleEndian(s[252..], (short)like.QformCode);
        BinaryPrimitives.WriteInt16LittleEndian(s[254..], (short)like.SformCode);
        for (var i = 0; i < 6; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(256 + 4 * i)..], (float)like.Quaternion[i]);
        for (var i = 0; i < 12; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(280 + 4 * i)..], (float)like.Srow[i]);
        "n+1\0"u8.CopyTo(s[344..]);
        return h;
    }

    private static byte[] Nifti2(NiftiHeader like, NiftiDatatype type, short intent)
    {
        var h = new byte[NiftiHeader.Nifti2Size];
        var s = h.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(s, NiftiHeader.Nifti2Size);
        "n+2\0\r\n\u001a\n"u8.CopyTo(s[4..]);
        BinaryPrimitives.WriteInt16LittleEndian(s[12..], (short)type);
        BinaryPrimitives.WriteInt16LittleEndian(s[14..], (short)(8 * NiftiHeader.BytesOf(type)));
        long[] dim = [3, like.Shape.X, like.Shape.Y, like.Shape.Z, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteInt64LittleEndian(s[(16 + 8 * i)..], dim[i]);
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteDoubleLittleEndian(s[(104 + 8 * i)..], Pixdim(like, i));
        BinaryPrimitives.WriteInt64LittleEndian(s[168..], NiftiHeader.Nifti2Size + 4);
        BinaryPrimitives.WriteDoubleLittleEndian(s[176..], 1);
        BinaryPrimitives.WriteDoubleLittleEndian(s[184..], 0);
        (intent == IntentLabel ? "MedSeg label volume"u8 : "MedSeg image"u8).CopyTo(s[240..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[344..], like.QformCode);
        BinaryPrimitives.WriteInt32LittleEndian(s[348..], like.SformCode);
        for (var i = 0; i < 6; i++) BinaryPrimitives.WriteDoubleLittleEndian(s[(352 + 8 * i)..], like.Quaternion[i]);
        for (var i = 0; i < 12; i++) BinaryPrimitives.WriteDoubleLittleEndian(s[(400 + 8 * i)..], like.Srow[i]);
        BinaryPrimitives.WriteInt32LittleEndian(s[500..], like.XyztUnits);
        BinaryPrimitives.WriteInt32LittleEndian(s[504..], intent);
        h[524] = (byte)like.DimInfo;
        return h;
    }

    /// <summary>pixdim[0] (qfac) and the spatial voxel sizes as stored; 1 for the dimensions a label volume does not have.</summary>
    private static double Pixdim(NiftiHeader like, int i) => i switch
    {
        0 => like.Pixdim[0] < 0 ? -1 : 1,
        <= 3 => i <= like.Dim[0] ? like.Pixdim[i] : 1,
        _ => 1,
    };
}
