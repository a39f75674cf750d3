using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Tests.Support;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Reference volumes written once by nibabel (every data type, both NIfTI versions, both byte orders, sform, qform,
/// neither, scaling, units, 4D, .nii and .nii.gz, gzip named .nii), with what nibabel reads from them.</summary>
public sealed class NiftiReferenceFiles : IDisposable
{
    private const string Script = """
        out = args[0]
        def rot(axis, deg):
            t = np.radians(deg); c, s = np.cos(t), np.sin(t); m = np.eye(4)
            i, j = [(1, 2), (0, 2), (0, 1)][axis]
            m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
            return m
        def affine(zooms, flips, deg, t):
            a = rot(2, deg[0]) @ rot(0, deg[1]) @ np.diag(list(np.multiply(zooms, flips)) + [1.0]); a[:3, 3] = t
            return a
        oblique = affine([1.5, 2.0, 3.0], [-1, 1, -1], (20, -10), [10.5, -20.25, 30.0])
        mirrored = affine([1.2, 0.9, 2.5], [-1, 1, 1], (-15, 5), [-5.0, 7.0, -9.0])   # det < 0: qfac = -1
        rng = np.random.default_rng(7)
        res = {}
        def save(name, img, spec=None):
            img.to_filename(out + '/' + name)
            l = nib.load(out + '/' + name)
            h = l.header
            res[name] = dict(shape=list(l.shape), zooms=[float(z) for z in h.get_zooms()], affine=l.affine.tolist(),
                             values=np.asarray(l.get_fdata(), dtype=np.float64).ravel(order='F').tolist(),
                             dtype=str(h.get_data_dtype().newbyteorder('=')), units=h.get_xyzt_units()[0],
                             sform=int(h['sform_code']), qform=int(h['qform_code']), spec=spec)
        def vol(dtype, shape=(4, 5, 6)):
            info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
            v = rng.integers(-50, 200, size=shape).astype(np.float64)
            if info is not None:
                v = np.clip(v, info.min, info.max); v.flat[0] = info.min; v.flat[1] = min(info.max, 4e9)
                if info.bits == 64: v.flat[2] = -2.0**40 if info.min < 0 else 2.0**40
            else:
                v = v + 0.25
            return v.astype(dtype)
        for dt in ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float32', 'float64']:
            d = vol(np.dtype(dt))
            save(f'dt_{dt}.nii.gz', nib.Nifti1Image(d, oblique, dtype=d.dtype))
        both = nib.Nifti1Image(vol(np.int16), oblique); both.set_sform(oblique, 1); both.set_qform(oblique, 1)
        save('both.nii', both)
        q = nib.Nifti1Image(vol(np.float32), mirrored); q.set_sform(None, 0); q.set_qform(mirrored, 1)
        save('qform_only.nii.gz', q)
        shear = oblique.copy(); shear[0, 1] += 0.3
        s = nib.Nifti1Image(vol(np.float32), shear); s.set_qform(None, 0); s.set_sform(shear, 2)
        save('sform_only.nii', s)
        n = nib.Nifti1Image(vol(np.uint8), oblique); n.set_sform(None, 0); n.set_qform(None, 0)
        save('neither.nii', n, spec='pixdim')
        save('nifti2.nii.gz', nib.Nifti2Image(vol(np.float64), mirrored))
        n2 = nib.Nifti2Image(vol(np.int16), oblique); n2.set_qform(oblique, 1); n2.set_sform(None, 0)
        save('nifti2_qform.nii', n2)
        save('big_endian.nii', nib.Nifti1Image(vol(np.int32), oblique, header=nib.Nifti1Header(endianness='>')))
        save('big_endian2.nii.gz', nib.Nifti2Image(vol(np.float32), mirrored, header=nib.Nifti2Header(endianness='>')))
        sc = nib.Nifti1Image(np.linspace(-100.3, 1234.5, 120).reshape(4, 5, 6), oblique); sc.set_data_dtype(np.int16)
        save('scaled.nii.gz', sc)
        res['scaled.nii.gz']['slope'] = float(nib.load(out + '/scaled.nii.gz').dataobj.slope)
        four = nib.Nifti1Image(vol(np.float32, (4, 5, 6, 2)), oblique)
        save('four_d.nii.gz', four)
        am = oblique.copy(); am[:3, :] /= 1000
        m = nib.Nifti1Image(vol(np.int16), am); m.header.set_xyzt_units('meter'); save('metres.nii', m)
        au = oblique.copy(); au[:3, :] *= 1000
        u = nib.Nifti1Image(vol(np.int16), au); u.header.set_xyzt_units('micron'); save('microns.nii', u)
        import shutil
        shutil.copy(out + '/dt_int16.nii.gz', out + '/gzip_named.nii'); res['gzip_named.nii'] = res['dt_int16.nii.gz']
        shutil.copy(out + '/both.nii', out + '/plain_named.nii.gz'); res['plain_named.nii.gz'] = res['both.nii']
        print(json.dumps(res))
        """;

    private readonly TempDirectory dir = new("medseg-nifti");

    public NiftiReferenceFiles() => Expected = Nibabel.Run(Script, dir.Path);

    public JsonElement Expected { get; }
    public string this[string name] => System.IO.Path.Combine(dir.Path, name);
    public static readonly string[] Names =
    [
        "dt_uint8.nii.gz", "dt_int8.nii.gz", "dt_int16.nii.gz", "dt_uint16.nii.gz", "dt_int32.nii.gz", "dt_uint32.nii.gz",
        "dt_int64.nii.gz", "dt_float32.nii.gz", "dt_float64.nii.gz", "both.nii", "qform_only.nii.gz", "sform_only.nii", "neither.nii",
        "nifti2.nii.gz", "nifti2_qform.nii", "big_endian.nii", "big_endian2.nii.gz", "scaled.nii.gz", "four_d.nii.gz", "metres.nii",
        "microns.nii", "gzip_named.nii", "plain_named.nii.gz",
    ];

    public void Dispose() => dir.Dispose();
}

public sealed class NiftiVolumeTests(NiftiReferenceFiles files, ITestOutputHelper output) : IClassFixture<NiftiReferenceFiles>
{
    public static TheoryData<string> Names => [.. NiftiReferenceFiles.Names];

    [Theory]
    [MemberData(nameof(Names))]
    public void NiftiReaderGivesNibabelsValuesAffineAndZooms(string name)
    {
        var expected = files.Expected.GetProperty(name);
        var volume = NiftiVolume.Read(files[name]);

        var shape = expected.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal((shape[0], shape[1], shape[2]), volume.Shape);
        Assert.Equal(shape.Length > 3 ? shape[3] : 1, volume.Channels);

        var unit = expected.GetProperty("units").GetString() switch { "meter" => 1000.0, "micron" => 0.001, _ => 1.0 };
        var zooms = expected.GetProperty("zooms").Doubles();
        AssertClose([volume.Spacing.X, volume.Spacing.Y, volume.Spacing.Z], [.. zooms.Take(3).Select(z => z * unit)], 1e-6, "spacing");

        var affine = expected.GetProperty("affine").Matrix();
        if (expected.GetProperty("spec").ValueKind == JsonValueKind.String)
        {
            // Neither sform nor qform: NIfTI's method 1 (pixdim scaling); nibabel shows Analyze's centred, x-flipped affine instead.
            affine = new double[4, 4];
            (affine[0, 0], affine[1, 1], affine[2, 2], affine[3, 3]) = (zooms[0], zooms[1], zooms[2], 1);
            Assert.Equal("pixdim", volume.Header.AffineSource);
        }
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < 4; c++)
            Assert.True(Math.Abs(volume.Affine[r, c] - affine[r, c] * unit) < 1e-4 * Math.Max(1, Math.Abs(affine[r, c] * unit)),
                $"{name}: affine[{r},{c}] is {volume.Affine[r, c]}, nibabel says {affine[r, c] * unit} ({volume.Header.AffineSource})");

        AssertClose([.. volume.Voxels.Select(v => (double)v)], expected.GetProperty("values").Doubles(), 1e-6, "voxels");
        var dtype = expected.GetProperty("dtype").GetString()!;
        Assert.Equal(dtype, volume.Header.Datatype.ToString().ToLowerInvariant());
        Assert.Equal(name.StartsWith("nifti2", StringComparison.Ordinal) || name == "big_endian2.nii.gz" ? 2 : 1, volume.Header.Version);
        Assert.Equal(name.StartsWith("big_endian", StringComparison.Ordinal), volume.Header.BigEndian);
        var gzipped = name == "gzip_named.nii" || (name.EndsWith(".nii.gz", StringComparison.Ordinal) && name != "plain_named.nii.gz");
        Assert.Equal(gzipped, volume.Gzipped); // by the magic bytes, not the name
        Assert.Equal(volume.Header.Shape, NiftiVolume.ReadHeader(files[name]).Shape);
        if (name == "scaled.nii.gz")
            Assert.NotEqual(1.0, files.Expected.GetProperty(name).GetProperty("slope").GetDouble()); // nibabel did scale
    }

    [Fact]
    public void NiftiReaderUsesSformOverQformAndQformWithQfac()
    {
        Assert.Equal("sform", NiftiVolume.ReadHeader(files["both.nii"]).AffineSource);
        var q = NiftiVolume.ReadHeader(files["qform_only.nii.gz"]);
        Assert.Equal("qform", q.AffineSource);
        Assert.True(q.Pixdim[0] < 0); // the mirrored affine needs qfac = −1, and the affine above matched nibabel's
    }

    [Fact]
    public void NiftiReaderRefusesTruncatedData()
    {
        var bytes = File.ReadAllBytes(files["both.nii"]);
        var e = Refused("cut.nii", bytes[..^10]);
        Assert.Contains("truncated", e.Problem);
        Assert.Contains("4 × 5 × 6", e.Problem);
        Assert.Contains("truncated", Refused("cut.nii.gz", Gzip(bytes[..^10])).Problem);
        Assert.Contains("ends 200 bytes into its 348-byte NIfTI-1 header", Refused("head.nii", bytes[..200]).Problem);
        Assert.Contains("too few", Refused("tiny.nii", bytes[..2]).Problem);
    }

    [Fact]
    public void NiftiReaderRefusesBadMagicSizeAndDims()
    {
        var good = File.ReadAllBytes(files["both.nii"]);
        Assert.Contains("neither 348", Refused("x.nii", HostileFiles.Png(4, 4)).Problem);
        Assert.Contains("not 'n+1'", Refused("x.nii", Patch(good, b => "abc\0"u8.CopyTo(b.AsSpan(344)))).Problem);
        Assert.Contains(".hdr/.img pair", Refused("x.nii", Patch(good, b => "ni1\0"u8.CopyTo(b.AsSpan(344)))).Problem);
        Assert.Contains("dim[0]", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), 0))).Problem);
        Assert.Contains("dim[0]", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), 8))).Problem);
        Assert.Contains("dim[2] is -5", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(44), -5))).Problem);
        Assert.Contains("complex64", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 32))).Problem);
        Assert.Contains("RGB24", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(70), 128))).Problem);
        Assert.Contains("beyond the end", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 1e6f))).Problem);
        Assert.Contains("inside the 348-byte header", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(108), 100))).Problem);
        Assert.Contains("pixdim[1]", Refused("x.nii", Patch(good, b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(80), 0))).Problem);
        var fiveD = Patch(good, b =>
        {
            BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(40), 5);
            BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(48), 1);
            BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(50), 2);
        });
        Assert.Contains("5 dimensions", Refused("x.nii", fiveD).Problem);
    }

    [Fact]
    public void NiftiReaderRefusesHugeDimsFromTheHeaderBeforeAllocating()
    {
        var good = File.ReadAllBytes(files["both.nii"]);
        var huge = Patch(good, b =>
        {
            foreach (var at in new[] { 42, 44, 46 }) BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(at), 30000);
        });
        using var probe = MemoryProbe.Start();
        var plain = Refused("huge.nii", huge);
        var gz = Refused("huge.nii.gz", Gzip(huge));
        probe.AssertBelow(output, allocatedMiB: 16, workingSetMiB: 64);
        Assert.Contains("30000 × 30000 × 30000", plain.Problem);
        Assert.Contains("more than the 134.2 million", gz.Problem);
        Assert.Contains("4 × 5 × 6", Assert.Throws<VolumeRefusedException>(() => NiftiVolume.Read(files["both.nii"], new VolumeLimits(119))).Problem);
        // NIfTI-2's 64-bit dims: a product that would overflow a long is refused as such, not wrapped round to a small count.
        var nifti2 = Patch(File.ReadAllBytes(files["nifti2_qform.nii"]), b =>
        {
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(16), 4);
            foreach (var at in new[] { 24, 32, 40, 48 }) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(at), int.MaxValue);
        });
        Assert.Contains("more than any volume file holds", Refused("huge2.nii", nifti2).Problem);
    }

    [Fact]
    public void NiftiReaderStopsAGzipBombAfterTheDeclaredData()
    {
        // The header of a 4 × 5 × 6 int16 volume, then 256 MiB of zeros: about 250 KiB compressed.
        var good = File.ReadAllBytes(files["both.nii"]);
        var path = Path.Combine(Path.GetDirectoryName(files["both.nii"])!, "bomb.nii.gz");
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        {
            gzip.Write(good);
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 256; i++) gzip.Write(zeros);
        }
        Assert.InRange(new FileInfo(path).Length, 1, 1 << 20);
        using var probe = MemoryProbe.Start();
        var started = DateTime.UtcNow;
        var e = Assert.Throws<VolumeRefusedException>(() => NiftiVolume.Read(path));
        probe.AssertBelow(output, allocatedMiB: 16, workingSetMiB: 64);
        Assert.Contains("inflates past", e.Problem);
        Assert.Equal("bomb.nii.gz", e.File);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the bomb was inflated further than the slack");
    }

    private VolumeRefusedException Refused(string name, byte[] bytes)
    {
        var path = Path.Combine(Path.GetDirectoryName(files["both.nii"])!, name);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<VolumeRefusedException>(() => NiftiVolume.Read(path));
        Assert.Equal(name, e.File);
        Assert.StartsWith(name + ": ", e.Message);
        output.WriteLine(e.Message);
        return e;
    }

    private static byte[] Patch(byte[] bytes, Action<byte[]> tamper)
    {
        var copy = (byte[])bytes.Clone();
        tamper(copy);
        return copy;
    }

    internal static byte[] Gzip(byte[] bytes)
    {
        using var ms = new MemoryStream();
        using (var gzip = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(bytes);
        return ms.ToArray();
    }

    private static void AssertClose(double[] actual, double[] expected, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}] is {actual[i]}, nibabel says {expected[i]}");
    }
}
