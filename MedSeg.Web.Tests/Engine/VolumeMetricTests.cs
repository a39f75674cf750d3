using MedSeg.Engine.Data.Volumes;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Training;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Engine;

public sealed class VolumeMetricTests
{
    private static byte[] Mask(params string[] rows) => AsciiMask.Parse(rows).Pixels;

    [Fact]
    public void VolumeDiceSeesTheMissThatTheSliceMeanHidesBehindEmptySlices()
    {
        // Slice 0 misses both truth pixels (Dice 0); slices 1 and 2 are empty in truth and prediction (Dice 1 each by the
        // empty policy). The slice mean is 2/3; the volume has 2 false negatives and nothing else: Dice 0.
        var scorer = new VolumeScorer();
        scorer.Add("v", 0, Mask("..", ".."), Mask("##", ".."), 2, 2);
        scorer.Add("v", 1, Mask("..", ".."), Mask("..", ".."), 2, 2);
        scorer.Add("v", 2, Mask("..", ".."), Mask("..", ".."), 2, 2);
        var sliceMean = new[] { Mask("##", ".."), Mask("..", ".."), Mask("..", "..") }
            .Select((t, i) => SegmentationMetrics.Dice(ConfusionCounts.From(Mask("..", ".."), t))).Average();

        var result = Assert.Single(scorer.Score(classes: 1));

        Assert.Equal(2.0 / 3, sliceMean, 12);
        Assert.Equal("v", result.Volume);
        Assert.Equal(3, result.Slices);
        Assert.Equal(0.0, Assert.Single(result.Dice));
    }

    [Fact]
    public void VolumeDicePoolsTheSlicesAndMissingSlicesCountAsBackground()
    {
        // Slices 0, 1 and 4 (2 and 3 were dropped at import): TP 2 + 1, FP 0 + 2, FN 0 + 0, and a false alarm of 1 on slice 4.
        // Volume Dice = 2·3 / (2·3 + 3 + 0) = 2/3; the slice mean would be (1 + 0.5 + 0) / 3 = 0.5.
        var stack = new VolumeStack("v", 2, 2);
        stack.Add(0, Mask("##", ".."), Mask("##", ".."));
        stack.Add(1, Mask("##", "#."), Mask("#.", ".."));
        stack.Add(4, Mask("..", ".#"), Mask("..", ".."));

        var (predicted, truth, depth) = stack.Stack();
        var result = stack.Score(1, spacing: null);

        Assert.Equal(5, depth); // slices 0 … 4, with 2 and 3 all background
        Assert.Equal(new byte[] { 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, truth);
        Assert.Equal(1, predicted[^1]);
        Assert.Equal(3, result.Slices);
        Assert.Equal(2.0 / 3, Assert.Single(result.Dice), 12);
        Assert.Null(Assert.Single(result.Hd95Mm)); // no spacing: distances not computed
    }

    [Fact]
    public void VolumeHd95UsesTheSliceSpacingAcrossAMissingSlice()
    {
        // Truth: one voxel in slice 0; prediction: one voxel in slice 2 (slice 1 dropped). 2 slices × 2.5 mm apart = 5 mm.
        var stack = new VolumeStack("v", 1, 3);
        stack.Add(0, Mask("..."), Mask(".#."));
        stack.Add(2, Mask(".#."), Mask("..."));

        var result = stack.Score(1, new VoxelSpacing(Slice: 2.5, Row: 0.7, Column: 0.7));

        Assert.Equal(0.0, Assert.Single(result.Dice));
        Assert.Equal(5.0, Assert.Single(result.Hd95Mm)!.Value, 9);
    }

    [Fact]
    public void VolumeScoresEachForegroundClassOfALabelMap()
    {
        // Class 1 perfect, class 2 predicted as class 1 in one of its two voxels; class 3 absent from both (Dice 1, HD95 0).
        var stack = new VolumeStack("v", 1, 4);
        stack.Add(0, [1, 1, 2, 0], [1, 1, 2, 0]);
        stack.Add(1, [0, 1, 0, 0], [0, 2, 0, 0]);

        var result = stack.Score(4, new VoxelSpacing(1, 1, 1));

        // Class 1: TP 2, FP 1 → 4/5. Class 2: TP 1, FN 1 → 2/3.
        Assert.Equal(3, result.Dice.Count);
        Assert.Equal(0.8, result.Dice[0], 12);
        Assert.Equal(2.0 / 3, result.Dice[1], 12);
        Assert.Equal(1.0, result.Dice[2]);
        Assert.Equal(0.0, result.Hd95Mm[2]);
        Assert.NotNull(result.Hd95Mm[0]);
    }

    [Fact]
    public void EuclideanDistanceTransform3DMatchesBruteForce()
    {
        var random = new Random(3);
        var (d, h, w) = (4, 5, 6);
        var feature = Enumerable.Range(0, d * h * w).Select(_ => random.NextDouble() < 0.08).ToArray();
        feature[7] = true;
        var (sz, sy, sx) = (2.5, 0.8, 1.1);

        var squared = EuclideanDistanceTransform.Squared3D(feature, d, h, w, sz, sy, sx);

        for (var i = 0; i < squared.Length; i++)
        {
            var (z, y, x) = (i / (h * w), i / w % h, i % w);
            var best = double.PositiveInfinity;
            for (var j = 0; j < feature.Length; j++)
            {
                if (!feature[j]) continue;
                var (dz, dy, dx) = ((j / (h * w) - z) * sz, (j / w % h - y) * sy, (j % w - x) * sx);
                best = Math.Min(best, dz * dz + dy * dy + dx * dx);
            }
            Assert.Equal(best, squared[i], 9);
        }
    }

    [Fact]
    public void SlicesOfOneVolumeMustShareASizeAndAnIndex()
    {
        var stack = new VolumeStack("liver_3", 2, 2);
        stack.Add(0, Mask("..", ".."), Mask("..", ".."));

        var twice = Assert.Throws<InvalidDataException>(() => stack.Add(0, Mask("..", ".."), Mask("..", "..")));
        var size = Assert.Throws<InvalidDataException>(() => stack.Add(1, Mask("..."), Mask("...")));

        Assert.Contains("liver_3", twice.Message);
        Assert.Contains("slice 0 is given twice", twice.Message);
        Assert.Contains("one size", size.Message);
    }

    [Fact]
    public void VolumeReportTakesEachVolumesSpacingFromItsCasesAndRoundTripsAsJson()
    {
        using var dir = new TempDir();
        var scorer = new VolumeScorer();
        scorer.Add("a", 0, Mask("#."), Mask("#."), 1, 2);
        scorer.Add("b", 3, Mask("#."), Mask(".#"), 1, 2);
        TrainingCase[] cases =
        [
            new("a_000", "x.tif", "x.png") { Volume = new CaseVolume("a", 0, 1, 1, 3) },
            new("b_003", "y.tif", "y.png") { Volume = new CaseVolume("b", 3, 1, 2) }, // no slice spacing: no HD95
        ];

        var results = VolumeReport.Score(scorer, cases, classes: 1);
        VolumeReport.Write(dir.Path, results);
        var read = VolumeReport.Read(dir.Path)!;

        Assert.Equal(["a", "b"], read.Select(r => r.Volume));
        Assert.Equal(0.0, read[0].Hd95Mm[0]);
        Assert.Null(read[1].Hd95Mm[0]);
        Assert.Equal(0.0, read[1].Dice[0]);
    }
}

public sealed class VolumeMetricTrainerTests(TinyDataset data) : IClassFixture<TinyDataset>
{
    [Fact]
    public async Task TrainerReportsVolumeDiceWhenValidationCasesAreSlicesOfAVolume()
    {
        var plan = data.Plan("run-volumes", epochs: 1) with
        {
            Validation = [.. data.Validation.Select((c, i) => c with { Volume = new CaseVolume("vol-1", i * 2, 0.8, 0.8, 3) })],
        };
        var observer = new RecordingObserver();

        await new Trainer().RunAsync(plan, observer, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));

        var epoch = Assert.Single(observer.Epochs);
        var dice = Assert.Single(epoch.VolumeDice!);
        Assert.InRange(dice, 0, 1);
        var plain = new RecordingObserver();
        await new Trainer().RunAsync(data.Plan("run-no-volumes", epochs: 1), plain, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Null(Assert.Single(plain.Epochs).VolumeDice);
    }
}

public sealed class VolumeHeaderTests
{
    [Theory]
    [InlineData(null, SliceAxis.Auto)]
    [InlineData("""{"format":"msd","axis":"axial"}""", SliceAxis.Axial)]
    [InlineData("""{"sliceAxis":0}""", SliceAxis.Sagittal)]
    [InlineData("""{"axis":"sideways"}""", SliceAxis.Auto)]
    [InlineData("not json", SliceAxis.Auto)]
    public void DatasetSliceAxisComesFromSourceJsonElseAuto(string? sourceJson, SliceAxis expected) =>
        Assert.Equal(expected, MedSeg.Web.Features.Experiments.VolumeOriginals.Axis(sourceJson));

    [Fact]
    public void SliceStackHeaderWritesLabelsThatNibabelReadsWithTheSlicesSpacing()
    {
        using var dir = new TempDir();
        var header = SliceStackHeader.Create(columns: 4, rows: 3, slices: 2, columnSpacing: 0.5, rowSpacing: 0.75, sliceSpacing: 1);
        var slice0 = new short[12];
        slice0[0] = 1; // row 0 = the top of an axial slice: the highest y
        var path = dir["stack.nii.gz"];

        NiftiWriter.WriteLabelSlices(path, header, SliceAxis.Axial, [slice0, new short[12]]);

        var read = Nibabel.Run("""
            o = nib.load(args[0]); d = np.asarray(o.dataobj)
            print(json.dumps(dict(shape=list(o.shape), affine=o.affine.tolist(), at=[int(v) for v in np.argwhere(d)[0]])))
            """, path);
        Assert.Equal([4, 3, 2], read.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(new[] { 0.5, 0.75, 1.0 }, Enumerable.Range(0, 3).Select(i => read.GetProperty("affine")[i][i].GetDouble()));
        Assert.Equal([0, 2, 0], read.GetProperty("at").EnumerateArray().Select(e => e.GetInt32()));
    }
}
