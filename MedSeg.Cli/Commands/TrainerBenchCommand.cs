using System.Diagnostics;
using System.Globalization;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Cli.Commands;

/// <summary>
/// <c>medseg bench-trainer</c>: the <see cref="Trainer"/>'s overhead against a bare TorchSharp loop on the same model,
/// the same batches and the same optimizer, measured in one process. The bare loop gets every batch of every epoch
/// as ready-made tensors (the strictest baseline: no loading, no augmentation, no logging, no loss read-back); the
/// trainer runs as the web jobs and <c>medseg train</c> run it (loader workers augmenting in parallel, observer events,
/// NaN check, per-epoch learning rate). Rounds alternate (trainer, bare, trainer, bare, …) so both see the same machine
/// load; the first epoch of each round is a warm-up and not counted. The trainer's training phase of an epoch runs from
/// the end of the previous epoch (or the start event) to its last batch; its validation and checkpoint writing are
/// reported separately (the bare loop does neither).
/// </summary>
public sealed class TrainerBenchCommand : ICommand
{
    public string Name => "bench-trainer";

    public string Summary => "Measure the trainer's overhead against a bare TorchSharp training loop";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("data", "Dataset folder with images/ and masks/ (same file names)", ValueName: "DIR"),
        new("model", "Model name", "unext", ValueName: "NAME"),
        new("size", "Square input size in pixels", "256"),
        new("batch", "Batch size", "8"),
        new("cases", "Training cases (the first N in file-name order; 8 more validate)", "96"),
        new("epochs", "Epochs per round (the first is a warm-up)", "3"),
        new("rounds", "Rounds of each contestant, alternating", "2"),
        new("augment", "Augmentation preset of the trainer's loader (the bare loop gets the same batches)", "strong", ValueName: "NAME"),
        new("threads", "Torch intra-op threads (default: libtorch's)", ValueName: "N"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var data = options.Get("data") ?? throw new UsageException("--data is required.");
        var model = options.Get("model") ?? "unext";
        if (!ModelRegistry.Contains(model)) throw new UsageException($"--model: unknown model '{model}'. Models: {string.Join(", ", ModelRegistry.Names)}.");
        var size = options.GetInt("size", 256, min: 32, max: 4096);
        var batch = options.GetInt("batch", 8, min: 2, max: 1024);
        var caseCount = options.GetInt("cases", 96, min: 2, max: 100_000);
        var epochs = options.GetInt("epochs", 3, min: 2, max: 1000);
        var rounds = options.GetInt("rounds", 2, min: 1, max: 100);
        AugmentationOptions augmentation;
        try { augmentation = TrainCommand.ReadAugmentation(options.Get("augment") ?? "strong"); }
        catch (ArgumentException e) { throw new UsageException($"--augment: {e.Message}"); }
        if (options.Get("threads") is not null) set_num_threads(options.GetInt("threads", 1, min: 1, max: 256));

        var scan = DatasetScanner.Scan(data);
        if (scan.Problems.Count > 0 || scan.Pairs.Count < caseCount + 1)
        {
            foreach (var p in scan.Problems.Take(10)) error.WriteLine(p.File.Length > 0 ? $"{p.File}: {p.Problem}" : p.Problem);
            error.WriteLine($"medseg bench-trainer: {data} needs at least {caseCount + 1} valid image/mask pairs (--cases {caseCount} + validation); " +
                            $"it has {scan.Pairs.Count} and {scan.Problems.Count} problem(s).");
            return ExitCodes.Failure;
        }
        var pairs = scan.Pairs.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => new TrainingCase(p.Name, p.ImagePath, p.MaskPath)).ToList();
        var train = pairs.Take(caseCount).ToList();
        var validation = pairs.Skip(caseCount).Take(8).ToList();
        var inv = CultureInfo.InvariantCulture;
        bool channelsLastWeights;
        using (var probe = ModelRegistry.Create(model, new ModelOptions(3, 1))) channelsLastWeights = probe.TrainsChannelsLastWeights;
        var layout = channelsLastWeights ? "channels-last batches and weights" : "channels-last batches";
        output.WriteLine($"{model}, {size}×{size}, batch {batch}, {train.Count} training + {validation.Count} validation cases from {data}; " +
                         $"augment {augmentation.Name}; {layout}; {epochs} epochs × {rounds} round(s) each; " +
                         $"{Environment.ProcessorCount} CPUs, torch threads {get_num_threads()}.");

        var plan = new TrainingPlan
        {
            Model = model, Epochs = epochs, BatchSize = batch, ImageSize = size, LearningRate = 1e-3, Seed = 1,
            Train = train, Validation = validation, RunDirectory = "", Augmentation = augmentation, Device = "cpu",
        };

        var trainerEpochs = new List<double>();
        var trainerAfter = new List<double>();
        var bareEpochs = new List<double>();
        var checkpointSeconds = new List<double>();
        var root = Directory.CreateTempSubdirectory("medseg-bench-trainer-");
        try
        {
            var batches = BareBatches(plan);
            for (var r = 0; r < rounds; r++)
            {
                var observer = new TimingObserver();
                new Trainer().RunAsync(plan with { RunDirectory = Path.Combine(root.FullName, $"run-{r}") }, observer, CancellationToken.None)
                    .GetAwaiter().GetResult();
                trainerEpochs.AddRange(observer.TrainSeconds.Skip(1));
                trainerAfter.AddRange(observer.AfterTrainSeconds.Skip(1));
                output.WriteLine(string.Format(inv, "round {0}: trainer training phase per epoch {1} s; validation + checkpoints {2} s",
                    r + 1, Join(observer.TrainSeconds), Join(observer.AfterTrainSeconds)));

                var (bare, save) = BareLoop(plan, batches, Path.Combine(root.FullName, $"bare-{r}"));
                bareEpochs.AddRange(bare.Skip(1));
                checkpointSeconds.AddRange(save);
                output.WriteLine(string.Format(inv, "round {0}: bare loop per epoch {1} s", r + 1, Join(bare)));
            }
            foreach (var b in batches.SelectMany(e => e)) { b.X.Dispose(); b.Y.Dispose(); }
        }
        finally
        {
            try { root.Delete(recursive: true); } catch (IOException) { }
        }

        var trainer = Median(trainerEpochs);
        var bareMedian = Median(bareEpochs);
        var steps = Trainer.TrainingBatches(train.Count, batch);
        output.WriteLine(string.Format(inv, "trainer: {0:F3} s per epoch ({1:F1} ms per step), median of {2} epochs", trainer, 1000 * trainer / steps, trainerEpochs.Count));
        output.WriteLine(string.Format(inv, "bare loop: {0:F3} s per epoch ({1:F1} ms per step), median of {2} epochs", bareMedian, 1000 * bareMedian / steps, bareEpochs.Count));
        output.WriteLine(string.Format(inv, "per epoch, not in the ratio: validation of {0} cases + last/best checkpoints {1:F3} s (checkpoint writing alone, as the bare loop timed it: {2:F3} s)",
            validation.Count, Median(trainerAfter), Median(checkpointSeconds)));
        output.WriteLine(string.Format(inv, "ratio trainer/bare = {0:F3} (target ≤ 1.05)", trainer / bareMedian));
        return ExitCodes.Success;
    }

    /// <summary>Every batch of every epoch exactly as the trainer's loader produces it, as tensors in the trainer's layout.</summary>
    private static List<List<(Tensor X, Tensor Y)>> BareBatches(TrainingPlan plan)
    {
        var source = CaseSources.Open(plan.Train, plan.ImageSize, 3, plan.Preprocessing, long.MaxValue);
        var epochs = new List<List<(Tensor, Tensor)>>();
        using var loader = new BatchLoader(source, new BatchLoaderOptions
        {
            BatchSize = plan.BatchSize, Workers = plan.LoaderWorkers, Prefetch = plan.LoaderPrefetch,
            Augmentation = plan.Augmentation, Seed = plan.Seed, DropSingletonTail = true,
        });
        for (var epoch = 1; epoch <= plan.Epochs; epoch++)
        {
            var list = new List<(Tensor, Tensor)>();
            foreach (var b in loader.Epoch(epoch, PipelineRandom.EpochOrder(plan.Seed, epoch, source.Count)))
            {
                var (x, y) = b.ToTensors(CPU);
                list.Add((Performance.ToChannelsLast(x), y)); // the trainer's batch layout
                x.Dispose();
            }
            epochs.Add(list);
        }
        return epochs;
    }

    /// <summary>forward, loss, zero_grad, backward, AdamW step: nothing else. Returns seconds per epoch and the time a
    /// last + best checkpoint pair takes to write after each epoch (timed apart, not in the epoch).</summary>
    private static (List<double> Epochs, List<double> Checkpoints) BareLoop(TrainingPlan plan, List<List<(Tensor X, Tensor Y)>> batches, string run)
    {
        manual_seed(plan.Seed);
        using var net = ModelRegistry.Create(plan.Model, new ModelOptions(3, 1));
        if (net.TrainsChannelsLastWeights) Performance.ToChannelsLast(net);
        using var optimizer = Optimizers.Create(plan.Optimizer, net.parameters(), plan.LearningRate, plan.WeightDecay);
        using var criterion = LossFactory.Create(plan.Loss, LossMode.Binary, 1);
        var seconds = new List<double>();
        var saves = new List<double>();
        for (var e = 0; e < batches.Count; e++)
        {
            manual_seed(Seeds.Torch(plan.Seed, e + 1));
            net.train();
            var clock = Stopwatch.StartNew();
            foreach (var (x, y) in batches[e])
            {
                using var scope = NewDisposeScope();
                var loss = criterion.call(net.call(x), y);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
            seconds.Add(clock.Elapsed.TotalSeconds);
            var state = new CheckpointState(e + 1, e + 1, 0, plan.Seed, Trainer.RngScheme, [], DateTimeOffset.UtcNow, plan.LearningRate, null, 0, null);
            clock.Restart();
            Checkpoints.Save(run, "best", net, null, state);
            Checkpoints.Save(run, "last", net, optimizer, state);
            saves.Add(clock.Elapsed.TotalSeconds);
        }
        return (seconds, saves);
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Join(IEnumerable<double> values) => string.Join(" ", values.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)));

    /// <summary>Timestamps of the trainer's events: an epoch's training phase ends at its last batch event; validation and
    /// checkpoints end at its epoch event.</summary>
    private sealed class TimingObserver : ITrainingObserver
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private double epochStart;
        private double lastBatch;

        public List<double> TrainSeconds { get; } = [];
        public List<double> AfterTrainSeconds { get; } = [];

        public void OnStarted(TrainingStarted e) => epochStart = clock.Elapsed.TotalSeconds;

        public void OnBatch(BatchProgress e) => lastBatch = clock.Elapsed.TotalSeconds;

        public void OnEpoch(EpochSummary e)
        {
            var now = clock.Elapsed.TotalSeconds;
            TrainSeconds.Add(lastBatch - epochStart);
            AfterTrainSeconds.Add(now - lastBatch);
            epochStart = now;
        }

        public void OnPreview(PreviewWritten e) { }

        public void OnLog(string message) { }
    }
}
