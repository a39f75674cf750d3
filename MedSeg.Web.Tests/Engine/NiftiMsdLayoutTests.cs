using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Decathlon v1 and nnU-Net v2 folders generated with nibabel, read by <see cref="VolumeDatasetScanner"/>.</summary>
public sealed class NiftiMsdLayoutTests
{
    /// <summary>Python helpers: <c>save(rel, data, affine=A)</c> writes a NIfTI under the root, <c>meta(obj)</c> dataset.json.</summary>
    private const string Helpers = """
        import os
        root = args[0]
        A = np.array([[0, 0, -1.5, 30], [1.0, 0, 0, -12], [0, -1.0, 0, 8], [0, 0, 0, 1.0]])
        rng = np.random.default_rng(11)
        def save(rel, data, affine=A):
            os.makedirs(os.path.dirname(root + '/' + rel), exist_ok=True)
            nib.Nifti1Image(data, affine, dtype=data.dtype).to_filename(root + '/' + rel)
        def img(shape=(6, 7, 5), ch=None):
            return rng.normal(100, 20, size=shape + ((ch,) if ch else ())).astype(np.float32)
        def lab(shape=(6, 7, 5), top=2):
            return rng.integers(0, top + 1, size=shape).astype(np.uint8)
        def meta(obj):
            json.dump(obj, open(root + '/dataset.json', 'w'))
        """;

    private static string Make(TempDirectory dir, string script)
    {
        Nibabel.Run(Helpers + "\n" + script, dir.Path);
        return dir.Path;
    }

    [Fact]
    public void NiftiMsdV1ReadsTheTrainingListTestListAndClassMap()
    {
        using var dir = new TempDirectory("medseg-msd");
        var root = Make(dir, """
            save('imagesTr/hip_001.nii.gz', img()); save('labelsTr/hip_001.nii.gz', lab())
            save('imagesTr/hip_002.nii.gz', img((8, 7, 4)).astype(np.uint8)); save('labelsTr/hip_002.nii.gz', lab((8, 7, 4), 1).astype(np.float32))
            save('imagesTs/hip_900.nii.gz', img())
            meta({'name': 'Hip', 'modality': {'0': 'MRI'}, 'labels': {'0': 'background', '1': 'Anterior', '2': 'Posterior'},
                  'numTraining': 2, 'training': [{'image': './imagesTr/hip_001.nii.gz', 'label': './labelsTr/hip_001.nii.gz'},
                                                 {'image': './imagesTr/hip_002.nii.gz', 'label': './labelsTr/hip_002.nii.gz'}],
                  'test': ['./imagesTs/hip_900.nii.gz']})
            """);
        var report = VolumeDatasetScanner.Scan(root);

        Assert.Empty(report.Problems);
        Assert.True(report.IsValid);
        Assert.Equal("msd", report.Format);
        Assert.Equal(["MRI"], report.ChannelNames);
        Assert.Equal(new Dictionary<int, string> { [0] = "background", [1] = "Anterior", [2] = "Posterior" }, report.Classes);
        Assert.Equal(["hip_001", "hip_002"], report.Training.Select(c => c.Id));
        var first = report.Training[0];
        Assert.Equal([Path.Combine(root, "imagesTr", "hip_001.nii.gz")], first.ChannelFiles);
        Assert.Equal(Path.Combine(root, "labelsTr", "hip_001.nii.gz"), first.LabelFile);
        Assert.Equal((6, 7, 5), first.Shape);
        Assert.Equal((1.0, 1.0, 1.5), first.Spacing);
        Assert.Equal([0, 1, 2], first.Labels);
        Assert.Equal([0, 1], report.Training[1].Labels); // a float32 label volume of whole values is fine
        Assert.Equal("hip_900", Assert.Single(report.Test).Id);
        Assert.Null(report.Test[0].LabelFile);
    }

    [Fact]
    public void NiftiMsdV1FourDImagesAreMultiChannelAndAMissingLabelIsNamed()
    {
        using var dir = new TempDirectory("medseg-msd");
        var root = Make(dir, """
            save('imagesTr/brain_1.nii.gz', img(ch=2)); save('labelsTr/brain_1.nii.gz', lab())
            save('imagesTr/brain_2.nii.gz', img(ch=3)); save('labelsTr/brain_2.nii.gz', lab())
            save('imagesTr/brain_3.nii.gz', img(ch=2))
            meta({'modality': {'0': 'FLAIR', '1': 'T1w'}, 'labels': {'0': 'background', '1': 'edema', '2': 'tumour'},
                  'training': [{'image': f'./imagesTr/brain_{i}.nii.gz', 'label': f'./labelsTr/brain_{i}.nii.gz'} for i in (1, 2, 3)]})
            """);
        var report = VolumeDatasetScanner.Scan(root);

        var only = Assert.Single(report.Training);
        Assert.Equal(("brain_1", 2), (only.Id, only.Channels));
        Assert.Equal(
        [
            new DatasetProblem("imagesTr/brain_2.nii.gz", "the image holds 3 channels along dim[4] but dataset.json names 2; store the case's " +
                "channels as one 4D volume, or as one file per channel (_0000, _0001, …)."),
            new DatasetProblem("labelsTr/brain_3.nii.gz", "the label of brain_3, listed in dataset.json, is missing; add it or remove the case from 'training'."),
        ], report.Problems);
    }

    [Fact]
    public void NiftiNnUnetV2PairsChannelSuffixesByNameAndNamesEveryProblem()
    {
        using var dir = new TempDirectory("medseg-msd");
        var root = Make(dir, """
            for case in ['a', 'b']:
                save(f'imagesTr/{case}_0000.nii.gz', img()); save(f'imagesTr/{case}_0001.nii.gz', img()); save(f'labelsTr/{case}.nii.gz', lab())
            save('imagesTr/c_0000.nii.gz', img()); save('labelsTr/c.nii.gz', lab())                         # channel 1 missing
            save('imagesTr/d_0000.nii.gz', img()); save('imagesTr/d_0001.nii.gz', img())                   # no label
            save('imagesTr/e_0000.nii.gz', img()); save('imagesTr/e_0001.nii.gz', img()); save('labelsTr/e.nii.gz', lab(top=3))
            save('imagesTr/f_0000.nii.gz', img()); save('imagesTr/f_0001.nii.gz', img())
            save('labelsTr/f.nii.gz', lab().astype(np.float32) + 0.5)                                        # not integers
            save('imagesTr/g_0000.nii.gz', img()); save('imagesTr/g_0001.nii.gz', img()); save('labelsTr/g.nii.gz', lab((6, 7, 4)))
            B = A.copy(); B[:3, 3] += 5
            save('imagesTr/h_0000.nii.gz', img()); save('imagesTr/h_0001.nii.gz', img(), B); save('labelsTr/h.nii.gz', lab())
            save('imagesTr/i_0000.nii.gz', img()); save('imagesTr/i_0001.nii.gz', img()); save('labelsTr/i.nii.gz', lab(), B)
            save('labelsTr/orphan.nii.gz', lab())
            save('imagesTs/t_0000.nii.gz', img()); save('imagesTs/t_0001.nii.gz', img())
            meta({'channel_names': {'0': 'T2', '1': 'ADC'}, 'labels': {'background': 0, 'peripheral': 1, 'transition': 2},
                  'numTraining': 9, 'file_ending': '.nii.gz'})
            """);
        var report = VolumeDatasetScanner.Scan(root);

        Assert.Equal("nnunetv2", report.Format);
        Assert.Equal(["T2", "ADC"], report.ChannelNames);
        Assert.Equal(new Dictionary<int, string> { [0] = "background", [1] = "peripheral", [2] = "transition" }, report.Classes);
        Assert.Equal(["a", "b"], report.Training.Select(c => c.Id));
        Assert.Equal([Path.Combine(root, "imagesTr", "a_0000.nii.gz"), Path.Combine(root, "imagesTr", "a_0001.nii.gz")], report.Training[0].ChannelFiles);
        Assert.Equal(2, report.Training[0].Channels);
        Assert.Equal("t", Assert.Single(report.Test).Id);

        var byFile = report.Problems.ToDictionary(p => p.File, p => p.Problem);
        Assert.Contains("channel 1 of case c is missing", byFile["imagesTr/c_0001.nii.gz"]);
        Assert.Contains("no label labelsTr/d.nii.gz", byFile["imagesTr/d_0000.nii.gz"]);
        Assert.Contains("holds 3, a value dataset.json's labels do not list (0, 1, 2)", byFile["labelsTr/e.nii.gz"]);
        Assert.Contains("not an integer", byFile["labelsTr/f.nii.gz"]);
        Assert.Contains("shape 6 × 7 × 4 (not 6 × 7 × 5)", byFile["labelsTr/g.nii.gz"]);
        Assert.Contains("affine", byFile["imagesTr/h_0001.nii.gz"]);
        Assert.Contains("affine", byFile["labelsTr/i.nii.gz"]);
        Assert.Contains("no image in imagesTr/", byFile["labelsTr/orphan.nii.gz"]);
        Assert.Contains("numTraining is 9 but 7 training cases", byFile["dataset.json"]);
        Assert.Equal(9, report.Problems.Count);
    }

    [Fact]
    public void NiftiMsdRefusesAFolderWithoutDatasetJsonAndRegionLabels()
    {
        using var dir = new TempDirectory("medseg-msd");
        var root = Make(dir, """
            save('imagesTr/a_0000.nii.gz', img()); save('labelsTr/a.nii.gz', lab())
            """);
        Assert.Equal("dataset.json", Assert.Single(VolumeDatasetScanner.Scan(root).Problems).File);
        File.WriteAllText(Path.Combine(root, "dataset.json"),
            """{"channel_names": {"0": "CT"}, "labels": {"background": 0, "whole": [1, 2]}, "file_ending": ".nii.gz"}""");
        var report = VolumeDatasetScanner.Scan(root);
        Assert.Contains(report.Problems, p => p.File == "dataset.json" && p.Problem.Contains("is a region"));
        Assert.False(report.IsValid);
    }
}
