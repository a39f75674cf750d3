using TorchSharp;
using System.Collections.Concurrent;
using System.Text.Json;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Training;
using NetVips;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Records every event (thread-safe).</summary>
public sealed class RecordingObserver(Action<BatchProgress>? onBatch = null) : ITrainingObserver
{
    public ConcurrentQueue<TrainingStarted> Started { get; } = new();
    public ConcurrentQueue<BatchProgress> Batches { get; } = new();
    public ConcurrentQueue<EpochSummary> Epochs { get; } = new();
    public ConcurrentQueue<PreviewWritten> Previews { get; } = new();
    public ConcurrentQueue<string> Logs { get; } = new();
    public void OnStarted(TrainingStarted e) => Started.Enqueue(e);
    public void OnBatch(BatchProgress e) { Batches.Enqueue(e); onBatch?.Invoke(e); }
    public void OnEpoch(EpochSummary e) => Epochs.Enqueue(e);
    public void OnPreview(PreviewWritten e) => Previews.Enqueue(e);
    public void OnLog(string message) => Logs.Enqueue(message);
}

/// <summary>8 training cases at 64×64 and 2 validation cases of 80×48 (so previews must come back to 80×48).</summary>
public sealed class TinyDataset : IDisposable
{
    public TempDir Dir { get; } = new();
    public List<TrainingCase> Train { get; }
    public List<TrainingCase> Validation { get; }

    public TinyDataset()
    {
        Train = SyntheticData.CreateDataset(Dir["data"], 8, 64, 64, seed: 0);
        Validation = SyntheticData.CreateDataset(Dir["data"], 2, 80, 48, seed: 100);
    }

    public TrainingPlan Plan(string run, int epochs = 2, double lr = 3e-3) => new()
    {
        Model = "unext",
        Epochs = epochs,
        BatchSize = 4,
        ImageSize = 64,
        LearningRate = lr,
        Seed = 7,
        Train = Train,
        Validation = Validation,
        PreviewCases = [Validation[0].Name],
        RunDirectory = Dir[run],
        Device = "cpu",
        Threads = 2,
    };

    public void Dispose() => Dir.Dispose();
}

public sealed class TrainerTests(TinyDataset data) : IClassFixture<TinyDataset>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TrainerRunsTwoEpochsAndWritesCheckpointsPreviewsAndRunJson()
    {
        var plan = data.Plan("run-full");
        var observer = new RecordingObserver();

        var result = await new Trainer().RunAsync(plan, observer, CancellationToken.None).WaitAsync(Timeout);

        var started = Assert.Single(observer.Started);
        Assert.False(started.Resumed);
        Assert.Equal((1, 2, 2), (started.StartEpoch, started.Epochs, started.BatchesPerEpoch));
        Assert.Equal(1_471_921, started.Parameters);
        Assert.Equal("cpu", started.Device);
        Assert.Equal([(1, 1), (1, 2), (2, 1), (2, 2)], observer.Batches.Select(b => (b.Epoch, b.Batch)));
        Assert.All(observer.Batches, b => Assert.True(double.IsFinite(b.Loss) && b.Loss > 0));
        var epochs = observer.Epochs.ToList();
        Assert.Equal([1, 2], epochs.Select(e => e.Epoch));
        Assert.True(epochs[0].IsBest);
        Assert.True(epochs[0].LearningRate > epochs[1].LearningRate); // cosine schedule
        Assert.All(epochs, e => Assert.InRange(e.ValidationDice, 0, 1));
        Assert.Equal(2, result.EpochsCompleted);
        Assert.Equal(epochs.Where(e => e.IsBest).Max(e => e.Epoch), result.BestEpoch);

        foreach (var f in new[] { "checkpoints/last.pt", "checkpoints/last.optim.pt", "checkpoints/last.json", "checkpoints/best.pt", "checkpoints/best.json", "run.json" })
            Assert.True(File.Exists(Path.Combine(plan.RunDirectory, f)), f);
        Assert.Empty(Directory.GetFiles(plan.RunDirectory, "*.tmp", SearchOption.AllDirectories));
        Assert.Equal(Path.Combine(plan.RunDirectory, "checkpoints", "last.pt"), result.LastCheckpoint);

        var manifest = RunManifest.Read(plan.RunDirectory);
        Assert.Equal(("unext", 64, 0.5), (manifest.Model, manifest.ImageSize, manifest.Threshold));
        Assert.Equal("zscore-per-image-per-channel", manifest.Normalization.Method);
        var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(Path.Combine(plan.RunDirectory, "checkpoints/last.json")))!;
        Assert.Equal(2, state.Epoch);
        Assert.Equal(2, state.History.Count);

        var previews = observer.Previews.ToList();
        Assert.Equal([1, 2], previews.Select(p => p.Epoch));
        Assert.Equal("previews/epoch-002/case-100.png", previews[1].RelativePath);
        using var png = Image.NewFromFile(previews[1].Path);
        Assert.Equal((80, 48, 1), (png.Width, png.Height, png.Bands));
        Assert.All(png.WriteToMemory<byte>(), v => Assert.True(v is 0 or 255));

        // The predictor rebuilds the model from run.json and the best checkpoint and scores at the original size.
        using var predictor = Predictor.Load(plan.RunDirectory, "cpu");
        Assert.EndsWith("best.pt", predictor.Checkpoint);
        var output = Path.Combine(plan.RunDirectory, "predictions");
        var predictions = predictor.Evaluate(data.Validation, output);
        Assert.Equal(data.Validation.Select(c => c.Name), predictions.Select(p => p.Name));
        foreach (var p in predictions)
        {
            using var written = Image.NewFromFile(p.PredictionPath);
            Assert.Equal((80, 48), (written.Width, written.Height));
            var predicted = written.WriteToMemory<byte>();
            var truth = MedSeg.Engine.Data.MaskReader.Read(data.Validation.Single(c => c.Name == p.Name).MaskPath);
            var counts = MedSeg.Engine.Metrics.ConfusionCounts.From(predicted, truth.Pixels);
            Assert.Equal(MedSeg.Engine.Metrics.SegmentationMetrics.Dice(counts), p.Dice, 9);
            Assert.Equal(MedSeg.Engine.Metrics.SegmentationMetrics.Recall(counts), p.Recall, 9);
            Assert.InRange(p.IoU, 0, p.Dice);
        }
        using var single = Image.NewFromBuffer(predictor.PredictPng(data.Validation[1].ImagePath));
        Assert.Equal((80, 48), (single.Width, single.Height));
    }

    [Fact]
    public async Task TrainerResumesAfterEpochOneAtEpochTwoAndStopsWhenAllEpochsAreDone()
    {
        var first = new RecordingObserver();
        await new Trainer().RunAsync(data.Plan("run-resume", epochs: 1), first, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal([1], first.Epochs.Select(e => e.Epoch));
        var weightsAfterOne = File.ReadAllBytes(Path.Combine(data.Dir["run-resume"], "checkpoints/last.pt"));

        var second = new RecordingObserver();
        var result = await new Trainer().RunAsync(data.Plan("run-resume", epochs: 2), second, CancellationToken.None).WaitAsync(Timeout);
        var started = Assert.Single(second.Started);
        Assert.True(started.Resumed);
        Assert.Equal(2, started.StartEpoch);
        Assert.Equal([2], second.Epochs.Select(e => e.Epoch));
        Assert.All(second.Batches, b => Assert.Equal(2, b.Epoch));
        Assert.Equal(2, result.EpochsCompleted);
        Assert.NotEqual(weightsAfterOne, File.ReadAllBytes(result.LastCheckpoint));
        var state = Checkpoints.ReadState(data.Dir["run-resume"], "last")!;
        Assert.Equal([1, 2], state.History.Select(h => h.Epoch));

        var third = new RecordingObserver();
        var again = await new Trainer().RunAsync(data.Plan("run-resume", epochs: 2), third, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(2, again.EpochsCompleted);
        Assert.Empty(third.Epochs);
        Assert.Empty(third.Batches);
    }

    [Fact]
    public async Task TrainerCancelsBetweenBatchesAndKeepsLastCompletedCheckpoint()
    {
        using var cts = new CancellationTokenSource();
        var observer = new RecordingObserver(b => { if (b.Epoch == 2) cts.Cancel(); });
        var plan = data.Plan("run-cancel", epochs: 3);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new Trainer().RunAsync(plan, observer, cts.Token).WaitAsync(Timeout));

        Assert.Equal([1], observer.Epochs.Select(e => e.Epoch));
        Assert.Equal((2, 1), (observer.Batches.Last().Epoch, observer.Batches.Last().Batch)); // stopped right after batch 1 of epoch 2
        Assert.Equal(1, Checkpoints.ReadState(plan.RunDirectory, "last")!.Epoch);
        using var predictor = Predictor.Load(plan.RunDirectory, "cpu"); // still a loadable checkpoint
    }

    [Fact]
    public async Task TrainerStopsWithClearMessageWhenLossBecomesNaN()
    {
        var plan = data.Plan("run-nan", epochs: 2, lr: 1e30);
        var error = await Assert.ThrowsAsync<TrainingFailedException>(() => new Trainer().RunAsync(plan, new RecordingObserver(), CancellationToken.None).WaitAsync(Timeout));
        Assert.Matches("loss became (NaN|infinite) at epoch \\d+", error.Message);
        Assert.Contains("lower the learning rate", error.Message);
    }

    [Fact]
    public void DevicesResolveAutoToCpuWithoutCudaAndRefuseUnknownDevices()
    {
        if (!cuda.is_available()) Assert.Equal(DeviceType.CPU, Devices.Resolve("auto").type);
        Assert.Equal(DeviceType.CPU, Devices.Resolve("CPU").type);
        Assert.Contains("cuda:N", Assert.Throws<ArgumentException>(() => Devices.Resolve("gpu")).Message);
        Assert.Contains("cuda:7", Assert.Throws<ArgumentException>(() => Devices.Resolve("cuda:7")).Message);
        Assert.Contains("cuda:N", Assert.Throws<ArgumentException>(() => Devices.Resolve("cuda:x")).Message);
    }
}

/// <summary>A 3-class label-map dataset (<see cref="SyntheticData.SquareAndDisc"/>): 12 cases at 32×32 in data/, split 9 / 3.</summary>
public sealed class TinyLabelDataset : IDisposable
{
    public TempDir Dir { get; } = new();
    public List<TrainingCase> Cases { get; }

    public TinyLabelDataset() => Cases = SyntheticData.CreateLabelDataset(Dir["data"], 12, 32, 32, seed: 0);

    public TrainingPlan Plan(string run, int epochs = 3) => new()
    {
        Model = "unext",
        ModelOptions = new MedSeg.Engine.Models.ModelOptions(Classes: 3),
        Loss = TrainingPlan.DefaultMulticlassLoss,
        Epochs = epochs,
        BatchSize = 3,
        ImageSize = 32,
        LearningRate = 1e-2,
        Seed = 3,
        Train = Cases[..9],
        Validation = Cases[9..],
        PreviewCases = [Cases[9].Name],
        RunDirectory = Dir[run],
        Device = "cpu",
        Threads = 2,
        Augmentation = MedSeg.Engine.Data.Pipeline.AugmentationOptions.None,
    };

    public void Dispose() => Dir.Dispose();
}

/// <summary>Multi-class (label-map) training, prediction, evaluation and export end to end.</summary>
public sealed class MultiClassTrainingTests(TinyLabelDataset data) : IClassFixture<TinyLabelDataset>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TrainerTrainsALabelMapAndThePredictorWritesLabelIndices()
    {
        var plan = data.Plan("run-3class");
        var observer = new RecordingObserver();

        var result = await new Trainer().RunAsync(plan, observer, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(3, result.EpochsCompleted);
        var epochs = observer.Epochs.ToList();
        Assert.All(epochs, e =>
        {
            Assert.True(double.IsFinite(e.TrainLoss) && double.IsFinite(e.ValidationLoss));
            Assert.InRange(e.ValidationDice, 0, 1);
            Assert.Equal(2, e.ClassDice!.Count);
            Assert.Equal(e.ValidationDice, e.ClassDice.Average(), 9); // every case scores both classes: the means agree
        });
        Assert.True(epochs[^1].TrainLoss < epochs[0].TrainLoss, string.Join(", ", epochs.Select(e => e.TrainLoss)));
        Assert.Contains(observer.Logs, l => l.Contains("Multiclass mode, 3 classes"));
        var manifest = RunManifest.Read(plan.RunDirectory);
        Assert.Equal(3, manifest.ModelOptions.Classes);
        Assert.Contains("Multiclass mode", manifest.Loss);
        var history = Checkpoints.ReadState(plan.RunDirectory, "last")!.History;
        Assert.Equal(epochs.Select(e => e.ClassDice), history.Select(e => e.ClassDice));

        // Previews are viewable grey levels label × ⌊255 / 2⌋.
        using (var preview = Image.NewFromFile(observer.Previews.Last().Path))
            Assert.All(preview.WriteToMemory<byte>(), v => Assert.True(v is 0 or 127 or 254, $"{v}"));

        using var predictor = Predictor.Load(plan.RunDirectory, "cpu");
        Assert.Equal(3, predictor.Classes);
        var predictions = predictor.Evaluate(plan.Validation, Path.Combine(plan.RunDirectory, "predictions"));
        foreach (var p in predictions)
        {
            using var written = Image.NewFromFile(p.PredictionPath);
            Assert.All(written.WriteToMemory<byte>(), v => Assert.True(v <= 2, $"{v}"));
            Assert.InRange(p.Dice, 0, 1);
        }
        using var png = Image.NewFromBuffer(predictor.PredictPng(plan.Validation[0].ImagePath));
        var labels = png.WriteToMemory<byte>();
        Assert.Equal(32 * 32, labels.Length);
        Assert.All(labels, v => Assert.True(v <= 2, $"{v}"));

        var export = MedSeg.Engine.Export.ModelExporter.Export(plan.RunDirectory, Path.Combine(plan.RunDirectory, "export"));
        Assert.Equal(3, export.Manifest.Architecture.Classes);
        Assert.Equal(["background", "label 1", "label 2"], export.Manifest.Output.ClassMap.Select(c => c.Name));
        Assert.Equal([0, 1, 2], export.Manifest.Output.ClassMap.Select(c => c.Value));
        Assert.Equal("argmax", export.Manifest.Output.Decision);
    }

    [Fact]
    public async Task TrainerRefusesALabelMapForABinaryModelAndBceForAMultiClassOne()
    {
        var binary = data.Plan("run-as-binary") with { ModelOptions = new MedSeg.Engine.Models.ModelOptions(Classes: 1), Loss = "bce+dice" };
        var error = await Assert.ThrowsAsync<TrainingFailedException>(() => new Trainer().RunAsync(binary, new RecordingObserver(), CancellationToken.None).WaitAsync(Timeout));
        Assert.Contains("holds label 2, but the model has 1 output class(es)", error.Message);

        var bce = data.Plan("run-bce") with { Loss = "bce+dice" };
        var refused = await Assert.ThrowsAnyAsync<ArgumentException>(() => new Trainer().RunAsync(bce, new RecordingObserver(), CancellationToken.None).WaitAsync(Timeout));
        Assert.Contains("use \"ce\" for Multiclass", refused.Message);
    }

    [Fact]
    public async Task CliTrainsEvaluatesAndPredictsALabelMapDataset()
    {
        var cli = await MedSegCli.LocateAsync();
        var (dataset, run) = (data.Dir["data"], data.Dir["cli-run"]);
        var train = await MedSegCli.RunAsync(cli, ["train", "--data", dataset, "--model", "unext", "--out", run, "--epochs", "2",
            "--size", "32", "--batch", "3", "--lr", "1e-2", "--device", "cpu", "--threads", "2", "--augment", "none"]);
        Assert.True(train.ExitCode == 0, train.Output);
        Assert.Contains("Classes: 3 (label maps", train.Output);
        Assert.Matches(@"Dice \d\.\d{4} \(1: \d\.\d{4}, 2: \d\.\d{4}\)", train.Output);
        Assert.Equal(3, RunManifest.Read(run).ModelOptions.Classes);
        Assert.Equal("dice+ce", RunManifest.Read(run).Recipe!.Loss);

        var csv = data.Dir["cli-eval.csv"];
        var evaluate = await MedSegCli.RunAsync(cli, ["evaluate", "--run", run, "--data", dataset, "--out", csv, "--device", "cpu"]);
        Assert.True(evaluate.ExitCode == 0, evaluate.Output);
        Assert.Contains("class 2", evaluate.Output);
        var rows = File.ReadAllLines(csv);
        Assert.Equal("name,class,dice,iou,precision,recall,hd95,assd,note", rows[0]);
        Assert.Equal(1 + 12 * 2, rows.Length);
        Assert.StartsWith("lab-000,1,", rows[1]);
        Assert.StartsWith("lab-000,2,", rows[2]);

        // The run's own validation cases, from split.json.
        var split = RunSplit.Read(run)!;
        Assert.Equal(12, split.Training.Count + split.Validation.Count);
        Assert.Empty(split.Training.Intersect(split.Validation));
        var validationCsv = data.Dir["cli-eval-validation.csv"];
        var onValidation = await MedSegCli.RunAsync(cli, ["evaluate", "--run", run, "--data", dataset, "--out", validationCsv, "--device", "cpu", "--cases", "validation"]);
        Assert.True(onValidation.ExitCode == 0, onValidation.Output);
        Assert.Contains($"Scoring the run's validation cases: {split.Validation.Count} of {split.Validation.Count}.", onValidation.Output);
        Assert.Equal(split.Validation.Order(StringComparer.Ordinal),
            File.ReadAllLines(validationCsv).Skip(1).Select(r => r.Split(',')[0]).Distinct().Order(StringComparer.Ordinal));
        var badSet = await MedSegCli.RunAsync(cli, ["evaluate", "--run", run, "--data", dataset, "--out", validationCsv, "--cases", "test"]);
        Assert.Equal(2, badSet.ExitCode);
        Assert.Contains("--cases takes all, validation or training", badSet.Output);

        var outDir = data.Dir["cli-predict"];
        var predict = await MedSegCli.RunAsync(cli, ["predict", "--run", run, "--input", Path.Combine(dataset, "images"), "--out", outDir, "--device", "cpu"]);
        Assert.True(predict.ExitCode == 0, predict.Output);
        var values = new HashSet<byte>();
        foreach (var f in Directory.GetFiles(outDir, "*.png"))
        {
            using var png = Image.NewFromFile(f);
            values.UnionWith(png.WriteToMemory<byte>());
        }
        Assert.Equal(12, Directory.GetFiles(outDir, "*.png").Length);
        Assert.Subset(new HashSet<byte> { 0, 1, 2 }, values);
    }
}
