using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Slicing in canonical orientation (the same anatomy stored in different orientations gives the same slices, and
/// they match nibabel's <c>as_closest_canonical</c>), the axis rule, and the label writer's round trip through nibabel.</summary>
public sealed class NiftiSlicingTests
{
    /// <summary>One anatomy (a random 5 × 6 × 7 label volume, canonical RAS with spacing 1.5, 2, 3) saved as RAS, as LPS
    /// (ITK's order) and permuted as PIR, plus an oblique 4D copy; prints nibabel's canonical arrays.</summary>
    private const string Anatomy = """
        out = args[0]
        rng = np.random.default_rng(3)
        data = rng.integers(0, 4, size=(5, 6, 7)).astype(np.uint8)
        ras = np.diag([1.5, 2.0, 3.0, 1.0]); ras[:3, 3] = [-10, 20, 5]
        img = nib.Nifti1Image(data, ras); img.set_qform(ras, 1); img.set_sform(ras, 2)
        res = {}
        def save(name, im):
            im.to_filename(out + '/' + name)
            l = nib.load(out + '/' + name)
            c = nib.as_closest_canonical(l)
            res[name] = dict(codes=''.join(nib.aff2axcodes(l.affine)), shape=list(l.shape), affine=l.affine.tolist(),
                             canonical=np.asarray(c.get_fdata()).ravel(order='F').tolist(), cshape=list(c.shape))
        save('ras.nii.gz', img)
        for codes, name in [(('L', 'P', 'S'), 'lps.nii.gz'), (('P', 'I', 'R'), 'pir.nii')]:
            t = nib.orientations.ornt_transform(nib.orientations.axcodes2ornt('RAS'), nib.orientations.axcodes2ornt(codes))
            save(name, img.as_reoriented(t))
        t = np.radians(20); rot = np.array([[np.cos(t), -np.sin(t), 0, 0], [np.sin(t), np.cos(t), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        obl = rot @ np.diag([-1.0, 1.0, -1.0, 1.0]) @ ras
        o = nib.Nifti1Image(np.stack([data, 10 + data], axis=-1).astype(np.float32), obl); o.set_qform(obl, 1)
        save('oblique4d.nii.gz', o)
        print(json.dumps(res))
        """;

    [Fact]
    public void NiftiSlicesAreTheSameHoweverTheVolumeIsStored()
    {
        using var dir = new TempDirectory("medseg-nifti");
        var expected = Nibabel.Run(Anatomy, dir.Path);
        Assert.Equal("LPS", expected.GetProperty("lps.nii.gz").GetProperty("codes").GetString());
        Assert.Equal("PIR", expected.GetProperty("pir.nii").GetProperty("codes").GetString());

        var ras = NiftiVolume.Read(Path.Combine(dir.Path, "ras.nii.gz"));
        Assert.True(ras.Header.Orientation.IsCanonical);
        foreach (var name in new[] { "lps.nii.gz", "pir.nii" })
        {
            var other = NiftiVolume.Read(Path.Combine(dir.Path, name));
            Assert.Equal(expected.GetProperty(name).GetProperty("codes").GetString(), other.Header.Orientation.Codes);
            Assert.NotEqual(ras.Voxels, other.Voxels); // stored differently …
            foreach (var axis in new[] { SliceAxis.Sagittal, SliceAxis.Coronal, SliceAxis.Axial })
            {
                var a = VolumeSlicer.Slice(ras, axis, "ras");
                var b = VolumeSlicer.Slice(other, axis, "other");
                Assert.Equal(a.Count, b.Count);
                for (var k = 0; k < a.Count; k++)
                {
                    Assert.Equal(a[k].Image.Pixels, b[k].Image.Pixels); // … sliced the same
                    Assert.Equal((a[k].Image.Width, a[k].Image.Height), (b[k].Image.Width, b[k].Image.Height));
                    Assert.Equal((a[k].RowSpacing, a[k].ColumnSpacing), (b[k].RowSpacing, b[k].ColumnSpacing));
                    Assert.Equal(k, b[k].Index);
                    Assert.Equal("other", b[k].CaseId);
                }
            }
        }
    }

    [Fact]
    public void NiftiSlicesFollowTheDisplayConventionOnNibabelsCanonicalArray()
    {
        using var dir = new TempDirectory("medseg-nifti");
        var expected = Nibabel.Run(Anatomy, dir.Path);
        foreach (var name in new[] { "pir.nii", "oblique4d.nii.gz" })
        {
            var e = expected.GetProperty(name);
            var canonical = e.GetProperty("canonical").Doubles();
            var n = e.GetProperty("cshape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var volume = NiftiVolume.Read(Path.Combine(dir.Path, name));
            Assert.Equal(n.Take(3), VolumeSlicer.CanonicalShape(volume.Header));
            var channels = n.Length > 3 ? n[3] : 1;
            double At(int i, int j, int k, int c) => canonical[i + n[0] * (j + n[1] * (k + n[2] * c))];

            // Axial: columns left → right (canonical axis 0), rows anterior at the top (axis 1 reversed).
            var axial = VolumeSlicer.Slice(volume, SliceAxis.Axial, name);
            Assert.Equal(n[2], axial.Count);
            for (var k = 0; k < n[2]; k++)
            for (var row = 0; row < n[1]; row++)
            for (var col = 0; col < n[0]; col++)
            for (var c = 0; c < channels; c++)
                Assert.Equal(At(col, n[1] - 1 - row, k, c), axial[k].Image.Pixels[(row * n[0] + col) * channels + c]);
            // Sagittal: columns posterior → anterior, rows superior at the top.
            var sagittal = VolumeSlicer.Slice(volume, SliceAxis.Sagittal, name);
            for (var i = 0; i < n[0]; i++)
            for (var row = 0; row < n[2]; row++)
            for (var col = 0; col < n[1]; col++)
                Assert.Equal(At(i, col, n[2] - 1 - row, 0), sagittal[i].Image.Pixels[(row * n[1] + col) * channels]);
            Assert.Equal(channels, axial[0].Image.Bands);
        }
    }

    [Fact]
    public void NiftiAutoAxisIsTheCoarsestSpacingWithTiesToTheLast()
    {
        using var dir = new TempDirectory("medseg-nifti");
        Nibabel.Run(Anatomy, dir.Path);
        // Spacing 1.5, 2, 3 along R, A, S: axial, whichever way the axes are stored.
        foreach (var name in new[] { "ras.nii.gz", "pir.nii" })
        {
            var header = NiftiVolume.ReadHeader(Path.Combine(dir.Path, name));
            var g = VolumeSlicer.Geometry(header, SliceAxis.Auto);
            Assert.Equal(new SliceGeometry(SliceAxis.Axial, 7, Rows: 6, Columns: 5, RowSpacing: 2.0, ColumnSpacing: 1.5), g);
            Assert.Equal(new SliceGeometry(SliceAxis.Coronal, 6, Rows: 7, Columns: 5, RowSpacing: 3.0, ColumnSpacing: 1.5),
                VolumeSlicer.Geometry(header, SliceAxis.Coronal));
        }
        Nibabel.Run("""
            a = np.diag([2.0, 3.0, 3.0, 1.0]); nib.Nifti1Image(np.zeros((3, 4, 5), np.uint8), a).to_filename(args[0] + '/tie.nii')
            b = np.diag([3.0, 1.0, 1.0, 1.0]); nib.Nifti1Image(np.zeros((3, 4, 5), np.uint8), b).to_filename(args[0] + '/sag.nii')
            """, dir.Path);
        Assert.Equal(SliceAxis.Axial, VolumeSlicer.Resolve(NiftiVolume.ReadHeader(Path.Combine(dir.Path, "tie.nii")), SliceAxis.Auto));
        Assert.Equal(SliceAxis.Sagittal, VolumeSlicer.Resolve(NiftiVolume.ReadHeader(Path.Combine(dir.Path, "sag.nii")), SliceAxis.Auto));
    }

    [Theory]
    [InlineData("pir.nii", NiftiDatatype.UInt8, SliceAxis.Axial)]
    [InlineData("lps.nii.gz", NiftiDatatype.Int16, SliceAxis.Sagittal)]
    [InlineData("oblique4d.nii.gz", NiftiDatatype.UInt8, SliceAxis.Auto)]
    [InlineData("nifti2.nii", NiftiDatatype.Int16, SliceAxis.Coronal)]
    public void NiftiLabelWriterRoundTripsThroughNibabel(string input, NiftiDatatype datatype, SliceAxis axis)
    {
        using var dir = new TempDirectory("medseg-nifti");
        Nibabel.Run(Anatomy, dir.Path);
        Nibabel.Run("""
            a = np.array([[0, 0, -2.5, 4], [1.25, 0, 0, -3], [0, -0.8, 0, 7], [0, 0, 0, 1.0]])
            d = np.random.default_rng(5).integers(0, 3, size=(4, 6, 5)).astype(np.int16)
            i = nib.Nifti2Image(d, a); i.set_qform(a, 1); i.set_sform(a, 3); i.to_filename(args[0] + '/nifti2.nii')
            """, dir.Path);
        var source = NiftiVolume.Read(Path.Combine(dir.Path, input));
        // A "prediction": the first channel's values as labels (+ 300 for int16, beyond uint8), sliced as a model sees them.
        var offset = datatype == NiftiDatatype.Int16 ? 300 : 0;
        var slices = VolumeSlicer.Slice(source, axis, "case")
            .Select(s => Enumerable.Range(0, s.Image.Width * s.Image.Height).Select(p => (short)(s.Image.Pixels[p * s.Image.Bands] + offset)).ToArray())
            .ToList();
        var output = Path.Combine(dir.Path, "prediction.nii.gz");
        NiftiWriter.WriteLabelSlices(output, source.Header, axis, slices, datatype);

        var read = Nibabel.Run("""
            i = nib.load(args[0]); o = nib.load(args[1]); h = o.header
            print(json.dumps(dict(shape=list(o.shape), same_affine=bool(np.allclose(i.affine, o.affine, atol=1e-5)),
                same_qform=bool(np.allclose(i.get_qform(), o.get_qform(), atol=1e-5)), qcode=int(h['qform_code']), scode=int(h['sform_code']),
                icodes=[int(i.header['qform_code']), int(i.header['sform_code'])], dtype=str(h.get_data_dtype()), offset=int(o.dataobj.offset),
                equal=bool(np.array_equal(np.asarray(o.dataobj), (np.asarray(i.dataobj)[..., 0] if i.ndim == 4 else np.asarray(i.dataobj)) + int(args[2]))),
                slope=float(o.dataobj.slope), inter=float(o.dataobj.inter),
                version=int(h['sizeof_hdr']))))
            """, Path.Combine(dir.Path, input), output, offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(new[] { source.Shape.X, source.Shape.Y, source.Shape.Z }, read.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(read.GetProperty("same_affine").GetBoolean());
        Assert.True(read.GetProperty("same_qform").GetBoolean());
        Assert.Equal(read.GetProperty("icodes").EnumerateArray().Select(e => e.GetInt32()),
            [read.GetProperty("qcode").GetInt32(), read.GetProperty("scode").GetInt32()]);
        Assert.Equal(datatype == NiftiDatatype.UInt8 ? "uint8" : "int16", read.GetProperty("dtype").GetString());
        Assert.Equal(source.Header.Version == 1 ? 352 : 544, read.GetProperty("offset").GetInt32());
        Assert.Equal(source.Header.Version == 1 ? 348 : 540, read.GetProperty("version").GetInt32());
        Assert.Equal((1.0, 0.0), (read.GetProperty("slope").GetDouble(), read.GetProperty("inter").GetDouble()));
        Assert.True(read.GetProperty("equal").GetBoolean(), "the labels written are not the input's voxels in their stored order");

        var back = NiftiVolume.Read(output);
        Assert.Equal(source.Header.Orientation.Codes, back.Header.Orientation.Codes);
        Assert.Equal(slices.SelectMany(s => s), VolumeSlicer.Slice(back, axis, "case").SelectMany(s => s.Image.Pixels).Select(v => (short)v));
    }

    [Fact]
    public void NiftiUnsliceRefusesSlicesOfTheWrongCountOrSize()
    {
        using var dir = new TempDirectory("medseg-nifti");
        Nibabel.Run(Anatomy, dir.Path);
        var header = NiftiVolume.ReadHeader(Path.Combine(dir.Path, "pir.nii"));
        Assert.Throws<ArgumentException>(() => VolumeSlicer.Unslice(header, SliceAxis.Axial, [new short[30]]));
        Assert.Throws<ArgumentException>(() => VolumeSlicer.Unslice(header, SliceAxis.Axial, [.. Enumerable.Repeat(new short[29], 7)]));
        Assert.Throws<ArgumentException>(() => NiftiWriter.WriteLabels(Path.Combine(dir.Path, "x.nii.gz"), header,
            Enumerable.Repeat((short)256, 210).ToArray()));
    }
}
