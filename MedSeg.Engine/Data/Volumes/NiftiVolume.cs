using System.Buffers.Binary;
using System.IO.Compression;

namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// A NIfTI-1 or NIfTI-2 volume read whole: its <see cref="Header"/> (shape, spacing, affine, orientation) and its voxels
/// as float, stored order (x fastest, then y, z, then channel), with <c>scl_slope</c>/<c>scl_inter</c> applied when the
/// slope is finite and not 0. A 4th dimension is read as channels (a Decathlon multi-modal image; a time series reads the
/// same way, one channel per time point); dimensions 5 … 7 must be 1.
/// <para>Every file is an input from outside. <c>.nii</c> and <c>.nii.gz</c> are told apart by the gzip magic bytes, not
/// the name; the byte order by <c>sizeof_hdr</c>. Refused with a <see cref="VolumeRefusedException"/> naming the file and
/// the problem, before the voxel array is allocated where the header alone tells: a wrong magic or <c>sizeof_hdr</c>,
/// dim[0] outside 1 … 7 or a dimension ≤ 0, unread data types (complex, RGB, …), a voxel count over
/// <see cref="VolumeLimits.MaxVoxels"/>, a <c>vox_offset</c> inside the header or beyond the file, data shorter than the
/// header declares; and while inflating, a gzip stream that ends early or goes on past what the header declares (the
/// decompression is never read further than <see cref="TrailingSlackBytes"/> past it).</para>
/// </summary>
public sealed class NiftiVolume
{
    /// <summary>Bytes a gzip stream may hold after the declared data (some writers pad) before it is refused as a bomb.</summary>
    public const int TrailingSlackBytes = 1 << 20;
    /// <summary>The most header-extension bytes (between the header and <c>vox_offset</c>) that are skipped.</summary>
    public const long MaxExtensionBytes = 256L << 20;
    private const int ChunkBytes = 1 << 20;

    private NiftiVolume(NiftiHeader header, float[] voxels, bool gzipped)
    {
        Header = header;
        Voxels = voxels;
        Gzipped = gzipped;
    }

    public NiftiHeader Header { get; }
    /// <summary>Voxel values after scaling, x fastest, then y, z, channel.</summary>
    public float[] Voxels { get; }
    /// <summary>True when the file was gzip-compressed.</summary>
    public bool Gzipped { get; }
    public (int X, int Y, int Z) Shape => Header.Shape;
    public int Channels => Header.Channels;
    public (double X, double Y, double Z) Spacing => Header.Spacing;
    public double[,] Affine => Header.Affine;

    public float this[int x, int y, int z, int channel = 0] =>
        Voxels[x + (long)Shape.X * (y + (long)Shape.Y * (z + (long)Shape.Z * channel))];

    /// <summary>Reads only the header (a gzip is inflated just that far). <paramref name="name"/> names the file in refusals
    /// (default: its file name).</summary>
    public static NiftiHeader ReadHeader(string path, string? name = null)
    {
        name ??= Path.GetFileName(path);
        using var file = OpenFile(path);
        var (stream, _) = Open(file, name);
        using (stream) return ReadHeader(stream, name);
    }

    /// <summary>Reads a volume within <paramref name="limits"/> (default <see cref="VolumeLimits.Default"/>). Throws
    /// <see cref="VolumeRefusedException"/> (the file is refused) or another <see cref="IOException"/> (it cannot be opened).</summary>
    public static NiftiVolume Read(string path, VolumeLimits? limits = null, string? name = null)
    {
        limits ??= VolumeLimits.Default;
        name ??= Path.GetFileName(path);
        using var file = OpenFile(path);
        var (stream, gzipped) = Open(file, name);
        using (stream)
        {
            var header = ReadHeader(stream, name);
            var count = header.VoxelCount;
            if (count > limits.MaxVoxels || count > Array.MaxLength)
                throw new VolumeRefusedException(name,
                    $"the volume is {header.Shape.X} × {header.Shape.Y} × {header.Shape.Z}{(header.Channels > 1 ? $" × {header.Channels} channels" : "")} " +
                    $"({ImageLimits.Megapixels(count)} million voxels), more than the {ImageLimits.Megapixels(Math.Min(limits.MaxVoxels, Array.MaxLength))} " +
                    "million MedSeg reads per volume; crop or resample it and add it again.");
            var dataBytes = count * header.BytesPerVoxel;
            var headerBytes = header.Version == 1 ? NiftiHeader.Nifti1Size : NiftiHeader.Nifti2Size;
            if (header.VoxOffset - headerBytes > MaxExtensionBytes)
                throw new VolumeRefusedException(name, $"vox_offset is {header.VoxOffset}, more than {MaxExtensionBytes >> 20} MiB of header " +
                    "extensions before the voxels; the header is corrupt.");
            if (!gzipped)
            {
                if (header.VoxOffset > file.Length)
                    throw new VolumeRefusedException(name, $"vox_offset is {header.VoxOffset}, beyond the end of the {file.Length}-byte file; " +
                        "the header is corrupt or the file truncated.");
                if (file.Length - header.VoxOffset < dataBytes)
                    throw new VolumeRefusedException(name, Truncated(header, file.Length - header.VoxOffset, dataBytes));
            }
            Skip(stream, header.VoxOffset - headerBytes, name, header);
            var voxels = new float[count];
            ReadVoxels(stream, header, voxels, name, dataBytes);
            if (gzipped) CheckEnd(stream, name, header.VoxOffset + dataBytes);
            return new NiftiVolume(header, voxels, gzipped);
        }
    }

    private static FileStream OpenFile(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);

    /// <summary>The data stream: the file itself, or its inflated content when it starts with the gzip magic (1f 8b).</summary>
    private static (Stream Stream, bool Gzipped) Open(FileStream file, string name)
    {
        Span<byte> magic = stackalloc byte[2];
        var n = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            return (new GZipStream(file, CompressionMode.Decompress, leaveOpen: true), true);
        return (new NonClosing(file), false);
    }

    private static NiftiHeader ReadHeader(Stream stream, string name)
    {
        var head = new byte[NiftiHeader.Nifti2Size];
        var n = Fill(stream, head.AsSpan(0, 4), name);
        if (n < 4)
            throw new VolumeRefusedException(name, $"the file holds {n} bytes, too few for a NIfTI header; it is empty or truncated.");
        var (size, _) = NiftiHeader.SizeOf(head);
        if (size == 0)
            throw new VolumeRefusedException(name, $"sizeof_hdr is {BinaryPrimitives.ReadInt32LittleEndian(head)} (0x{BinaryPrimitives.ReadUInt32BigEndian(head):x8}), " +
                "neither 348 (NIfTI-1) nor 540 (NIfTI-2) in either byte order: the file is not a NIfTI volume.");
        n = Fill(stream, head.AsSpan(4, size - 4), name);
        if (n < size - 4)
            throw new VolumeRefusedException(name, $"the file ends {4 + n} bytes into its {size}-byte NIfTI-{(size == NiftiHeader.Nifti1Size ? 1 : 2)} " +
                "header; it is truncated.");
        return NiftiHeader.Parse(head.AsSpan(0, size), name);
    }

    private static void Skip(Stream stream, long bytes, string name, NiftiHeader header)
    {
        var buffer = new byte[(int)Math.Min(bytes, ChunkBytes)];
        var left = bytes;
        while (left > 0)
        {
            var n = Fill(stream, buffer.AsSpan(0, (int)Math.Min(left, buffer.Length)), name);
            if (n == 0)
                throw new VolumeRefusedException(name, $"vox_offset is {header.VoxOffset}, beyond the end of the data; the header is corrupt " +
                    "or the file truncated.");
            left -= n;
        }
    }

    private static void ReadVoxels(Stream stream, NiftiHeader header, float[] voxels, string name, long dataBytes)
    {
        var size = header.BytesPerVoxel;
        var big = header.BigEndian;
        var scale = header.SclSlope != 0 && double.IsFinite(header.SclSlope);
        var (slope, inter) = (header.SclSlope, double.IsFinite(header.SclInter) ? header.SclInter : 0);
        var buffer = new byte[(int)Math.Min(ChunkBytes, Math.Max(dataBytes, size))];
        long done = 0;
        while (done < voxels.LongLength)
        {
            var want = (int)Math.Min(buffer.Length, (voxels.LongLength - done) * size);
            var n = Fill(stream, buffer.AsSpan(0, want), name);
            if (n < want)
                throw new VolumeRefusedException(name, Truncated(header, done * size + n, dataBytes));
            var span = buffer.AsSpan(0, n);
            var count = n / size;
            var target = voxels.AsSpan((int)done, count);
            Convert(span, target, header.Datatype, big);
            if (scale)
                for (var i = 0; i < target.Length; i++) target[i] = (float)(target[i] * slope + inter);
            done += count;
        }
    }

    private static void Convert(ReadOnlySpan<byte> s, Span<float> t, NiftiDatatype type, bool big)
    {
        switch (type)
        {
            case NiftiDatatype.UInt8:
                for (var i = 0; i < t.Length; i++) t[i] = s[i];
                break;
            case NiftiDatatype.Int8:
                for (var i = 0; i < t.Length; i++) t[i] = (sbyte)s[i];
                break;
            case NiftiDatatype.Int16:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadInt16BigEndian(s[(2 * i)..]) : BinaryPrimitives.ReadInt16LittleEndian(s[(2 * i)..]);
                break;
            case NiftiDatatype.UInt16:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadUInt16BigEndian(s[(2 * i)..]) : BinaryPrimitives.ReadUInt16LittleEndian(s[(2 * i)..]);
                break;
            case NiftiDatatype.Int32:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadInt32BigEndian(s[(4 * i)..]) : BinaryPrimitives.ReadInt32LittleEndian(s[(4 * i)..]);
                break;
            case NiftiDatatype.UInt32:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadUInt32BigEndian(s[(4 * i)..]) : BinaryPrimitives.ReadUInt32LittleEndian(s[(4 * i)..]);
                break;
            case NiftiDatatype.Int64:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadInt64BigEndian(s[(8 * i)..]) : BinaryPrimitives.ReadInt64LittleEndian(s[(8 * i)..]);
                break;
            case NiftiDatatype.UInt64:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadUInt64BigEndian(s[(8 * i)..]) : BinaryPrimitives.ReadUInt64LittleEndian(s[(8 * i)..]);
                break;
            case NiftiDatatype.Float32:
                for (var i = 0; i < t.Length; i++) t[i] = big ? BinaryPrimitives.ReadSingleBigEndian(s[(4 * i)..]) : BinaryPrimitives.ReadSingleLittleEndian(s[(4 * i)..]);
                break;
            default:
                for (var i = 0; i < t.Length; i++) t[i] = (float)(big ? BinaryPrimitives.ReadDoubleBigEndian(s[(8 * i)..]) : BinaryPrimitives.ReadDoubleLittleEndian(s[(8 * i)..]));
                break;
        }
    }

    /// <summary>After the declared data a gzip stream must end (within <see cref="TrailingSlackBytes"/>); reading stops there,
    /// so a small header over a huge inflated stream costs at most that much inflation.</summary>
    private static void CheckEnd(Stream stream, string name, long declared)
    {
        var buffer = new byte[64 * 1024];
        long extra = 0;
        while (true)
        {
            var n = Fill(stream, buffer, name);
            extra += n;
            if (n < buffer.Length) return;
            if (extra > TrailingSlackBytes)
                throw new VolumeRefusedException(name, $"the gzip stream inflates past the {declared} bytes its header declares (more than " +
                    $"{TrailingSlackBytes >> 20} MiB more, reading stopped there): a corrupt or hostile file. Re-export the volume.");
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; corrupt gzip becomes a refusal.</summary>
    private static int Fill(Stream stream, Span<byte> buffer, string name)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new VolumeRefusedException(name, $"the gzip stream is corrupt ({e.Message.TrimEnd('.')}); re-export or re-download the file.");
        }
    }

    private static string Truncated(NiftiHeader header, long have, long need) =>
        $"the voxel data is truncated: the header declares {header.Shape.X} × {header.Shape.Y} × {header.Shape.Z}" +
        $"{(header.Channels > 1 ? $" × {header.Channels}" : "")} {header.Datatype} voxels ({need} bytes from vox_offset {header.VoxOffset}), " +
        $"the file holds {Math.Max(0, have)}. Copy or download the file again.";

    /// <summary>The file stream without closing it (the caller's <c>using</c> does).</summary>
    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
