using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The pieces of a volume import apart from the web: slicing options, the importer's refusals, and the 2D slab and
/// float image files of the export, read back by nibabel.</summary>
public sealed class NiftiImportTests
{
    [Theory]
    [InlineData(null, null, SliceAxis.Auto, "keep")]
    [InlineData("Axial", "DROP", SliceAxis.Axial, "drop")]
    [InlineData("sagittal", "every-4", SliceAxis.Sagittal, "every-4")]
    [InlineData("coronal", "every-1", SliceAxis.Coronal, "keep")]
    public void NiftiImportOptionsParseTheFormFields(string? axis, string? empty, SliceAxis expectedAxis, string expectedRule)
    {
        var (options, problems) = VolumeImportOptions.Parse(axis, empty);
        Assert.Empty(problems);
        Assert.Equal((expectedAxis, expectedRule), (options!.Axis, options.EmptySlices.Text));
    }

    [Theory]
    [InlineData("2", null, "axis")]
    [InlineData("auto", "every-0", "emptySlices")]
    [InlineData("auto", "every-1001", "emptySlices")]
    [InlineData("auto", "half", "emptySlices")]
    public void NiftiImportOptionsNameTheFieldThatIsWrong(string? axis, string? empty, string field)
    {
        var (options, problems) = VolumeImportOptions.Parse(axis, empty);
        Assert.Null(options);
        Assert.Equal(field, Assert.Single(problems).File);
    }

    [Fact]
    public void NiftiEmptySliceRuleKeepsEveryNthEmptySliceFromTheFirst()
    {
        var every3 = EmptySliceRule.Parse("every-3")!;
        Assert.Equal([0, 3, 6], Enumerable.Range(0, 8).Where(every3.Keeps));
        Assert.DoesNotContain(Enumerable.Range(0, 8), EmptySliceRule.Drop.Keeps);
        Assert.Equal(8, Enumerable.Range(0, 8).Count(EmptySliceRule.Keep.Keeps));
    }

    [Fact]
    public void NiftiImportRefusesLabelsBeyondWhatMasksHold()
    {
        using var dir = new TempDirectory("medseg-import");
        Nibabel.Run("""
            import os
            root = args[0]
            for d in ('imagesTr', 'labelsTr'): os.makedirs(root + '/' + d)
            nib.Nifti1Image(np.ones((4, 4, 3), np.float32), np.eye(4)).to_filename(root + '/imagesTr/a_0000.nii.gz')
            l = np.zeros((4, 4, 3), np.uint8); l[1, 1, 1] = 40
            nib.Nifti1Image(l, np.eye(4)).to_filename(root + '/labelsTr/a.nii.gz')
            json.dump({'channel_names': {'0': 'CT'}, 'labels': {'background': 0, 'far': 40}, 'file_ending': '.nii.gz'}, open(root + '/dataset.json', 'w'))
            """, dir.Path);
        var report = VolumeDatasetScanner.Scan(dir.Path);
        Assert.Empty(report.Problems);

        var import = VolumeImporter.Import(report, dir.Path, VolumeImportOptions.Default, Path.Combine(dir.Path, "out", "images"), Path.Combine(dir.Path, "out", "masks"));

        var problem = Assert.Single(import.Problems);
        Assert.Equal("dataset.json", problem.File);
        Assert.Contains("up to 40", problem.Problem);
        Assert.Empty(import.Cases);
    }

    [Fact]
    public void NiftiSlabIsAOneSliceVolumeThatNibabelReadsWithItsSpacing()
    {
        using var dir = new TempDirectory("medseg-slab");
        var pixels = Enumerable.Range(0, 5 * 3).Select(i => i * 1.5f - 7).ToArray(); // 5 columns × 3 rows
        var labels = Enumerable.Range(0, 5 * 3).Select(i => (float)(i % 3)).ToArray();
        using (var f = File.Create(Path.Combine(dir.Path, "image.nii.gz"))) NiftiWriter.WriteSlab(f, pixels, 5, 3, 0.7, 0.4, labels: false);
        using (var f = File.Create(Path.Combine(dir.Path, "label.nii.gz"))) NiftiWriter.WriteSlab(f, labels, 5, 3, 0.7, 0.4, labels: true);

        var nib = Nibabel.Run("""
            i = nib.load(args[0] + '/image.nii.gz'); l = nib.load(args[0] + '/label.nii.gz')
            print(json.dumps({'shape': list(i.shape), 'affine': i.affine.tolist(), 'dtype': str(i.get_data_dtype()), 'ldtype': str(l.get_data_dtype()),
                              'image': np.asanyarray(i.dataobj)[:, :, 0].tolist(), 'label': np.asanyarray(l.dataobj)[:, :, 0].tolist(),
                              'intent': l.header.get_intent()[0]}))
            """, dir.Path);

        Assert.Equal([5, 3, 1], nib.GetProperty("shape").Doubles());
        Assert.Equal(new double[,] { { 0.7, 0, 0, 0 }, { 0, 0.4, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } }, Round(nib.GetProperty("affine").Matrix()));
        Assert.Equal(("float32", "uint8", "label"), (nib.GetProperty("dtype").GetString(), nib.GetProperty("ldtype").GetString(), nib.GetProperty("intent").GetString()));
        var image = nib.GetProperty("image").EnumerateArray().Select(Nibabel.Doubles).ToArray();
        var label = nib.GetProperty("label").EnumerateArray().Select(Nibabel.Doubles).ToArray();
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < 5; c++)
        {
            Assert.Equal(pixels[r * 5 + c], (float)image[c][2 - r]); // row 0 is the top: the highest y
            Assert.Equal(labels[r * 5 + c], (float)label[c][2 - r]);
        }
        var slice = Assert.Single(VolumeSlicer.Slice(NiftiVolume.Read(Path.Combine(dir.Path, "image.nii.gz")), SliceAxis.Axial, "x"));
        Assert.Equal(pixels, slice.Image.Pixels);
    }

    [Fact]
    public void NiftiImageWrittenOverAHeaderKeepsItsAffineAndValues()
    {
        using var dir = new TempDirectory("medseg-image");
        Nibabel.Run("""
            A = np.array([[0, 0, -1.5, 30], [1.0, 0, 0, -12], [0, -1.0, 0, 8], [0, 0, 0, 1.0]])
            nib.Nifti1Image(np.arange(4 * 3 * 2 * 2, dtype=np.int16).reshape(4, 3, 2, 2), A).to_filename(args[0] + '/four.nii.gz')
            """, dir.Path);
        var four = NiftiVolume.Read(Path.Combine(dir.Path, "four.nii.gz"));
        var path = Path.Combine(dir.Path, "channel1.nii.gz");

        NiftiWriter.WriteImage(path, four.Header, four.Voxels.AsSpan(24, 24));

        var channel = NiftiVolume.Read(path);
        Assert.Equal((four.Shape, 1, NiftiDatatype.Float32), (channel.Shape, channel.Channels, channel.Header.Datatype));
        Assert.Equal(four.Affine, channel.Affine);
        Assert.Equal(four.Voxels[24..], channel.Voxels);
    }

    [Fact]
    public async Task NiftiCliTrainsOnADecathlonFolderSplitByVolume()
    {
        using var dir = new TempDirectory("medseg-cli-volumes");
        var data = Path.Combine(dir.Path, "Task09_Tiny");
        Nibabel.Run("""
            import os
            root = args[0]
            rng = np.random.default_rng(3)
            A = np.array([[-1.0, 0, 0, 10], [0, 0, -1.0, -5], [0, 2.0, 0, 3], [0, 0, 0, 1.0]])
            for d in ('imagesTr', 'labelsTr'): os.makedirs(root + '/' + d)
            for i in range(1, 5):
                l = np.zeros((32, 4, 32), np.uint8); l[8:20, :, 10:24] = 1; l[12:16, :, 14:18] = 2
                nib.Nifti1Image((rng.normal(100, 10, (32, 4, 32)) + 50 * l).astype(np.float32), A).to_filename(f'{root}/imagesTr/t_{i}.nii.gz')
                nib.Nifti1Image(l, A).to_filename(f'{root}/labelsTr/t_{i}.nii.gz')
            json.dump({'modality': {'0': 'MRI'}, 'labels': {'0': 'background', '1': 'outer', '2': 'inner'},
                       'training': [{'image': f'./imagesTr/t_{i}.nii.gz', 'label': f'./labelsTr/t_{i}.nii.gz'} for i in range(1, 5)]},
                      open(root + '/dataset.json', 'w'))
            """, data);
        var cli = await MedSegCli.LocateAsync();
        var run = Path.Combine(dir.Path, "run");

        var train = await MedSegCli.RunAsync(cli, ["train", "--data", data, "--model", "unext", "--out", run, "--epochs", "1", "--size", "32",
            "--batch", "4", "--device", "cpu", "--threads", "2", "--augment", "none", "--val-fraction", "0.25", "--empty-slices", "drop"]);

        Assert.True(train.ExitCode == 0, train.Output);
        Assert.Contains("4 volumes (msd, channels MRI) cut into 16 slices along auto (empty slices: drop)", train.Output);
        Assert.Contains("Classes: 3", train.Output);
        Assert.Contains("16 cases: 12 training, 4 validation", train.Output);
        Assert.Equal(16, Directory.GetFiles(Path.Combine(run, "slices", "images"), "*.tif").Length);
    }

    private static double[,] Round(double[,] m)
    {
        var r = (double[,])m.Clone();
        for (var i = 0; i < r.GetLength(0); i++)
        for (var j = 0; j < r.GetLength(1); j++)
            r[i, j] = Math.Round(r[i, j], 5);
        return r;
    }
}
