using Spectre.Console;
using System.Globalization;
using System.Text.RegularExpressions;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Training;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg train</c>: scans a dataset folder (images/ + masks/), splits it by seed as the web does, and trains
/// into a run directory, resuming it when it already holds a checkpoint.</summary>
public sealed partial class TrainCommand : ICommand
{
    public const int PreviewCount = 4;

    public string Name => "train";

    public string Summary => "Train a model on a folder with images/ and masks/ (resumes a run directory with a checkpoint)";

    /// <summary>The engine's defaults (<see cref="TrainingSettings"/>): the web's snapshots and this command share them.</summary>
    private static readonly TrainingSettings Defaults = new();

    private static string Inv(double value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The option that sets each <see cref="TrainingSettings"/> field, for <see cref="TrainingSettings.Check"/>'s errors.</summary>
    private static readonly Dictionary<string, string> OptionOf = new()
    {
        ["Model"] = "model", ["Variant"] = "variant", ["Epochs"] = "epochs", ["BatchSize"] = "batch", ["ImageSize"] = "size",
        ["LearningRate"] = "lr", ["Seed"] = "seed", ["Augmentation"] = "augment", ["Optimizer"] = "optimizer", ["Schedule"] = "schedule",
        ["Loss"] = "loss", ["EarlyStoppingPatience"] = "patience", ["Resize"] = "resize", ["Normalization"] = "normalize",
        ["WarmupEpochs"] = "warmup", ["GradientClipNorm"] = "clip", ["TimeBudgetHours"] = "time-budget", ["WeightDecay"] = "weight-decay",
        ["DeepSupervision"] = "deep-supervision",
    };

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("data", "Dataset folder with images/ and masks/ (same file names), or NIfTI volumes in the Decathlon / nnU-Net v2 layout (dataset.json, imagesTr/, labelsTr/)", ValueName: "DIR"),
        new("axis", "Volumes: slice axis, auto (coarsest spacing), axial, coronal or sagittal", "auto", ValueName: "AXIS"),
        new("empty-slices", "Volumes: slices without foreground to keep: keep, drop or every-N", "keep", ValueName: "RULE"),
        new("model", $"Architecture: {string.Join(", ", ModelRegistry.Names)}", ValueName: "NAME"),
        new("out", "Run directory (checkpoints, previews, run.json); resumed when it holds a checkpoint", ValueName: "RUNDIR"),
        new("variant", "Model variant (see 'medseg models --all-variants')", ValueName: "NAME"),
        new("deep-supervision", "UNet++: put the loss on each of its four heads (equal weights, as in the paper)", IsFlag: true),
        new("in-process", "Train in this process instead of a supervised child (a native crash then ends the command)", IsFlag: true),
        new("max-restarts", "Restart a crashed training child from its last checkpoint this many times", "2"),
        new("max-memory", "Memory one run may use, in GiB; a run estimated above it is refused (default: ¾ of physical memory)", ValueName: "GIB"),
        new("epochs", "Epochs", Inv(Defaults.Epochs)),
        new("size", "Training size in pixels (square; a multiple of the model's size multiple)", Inv(Defaults.ImageSize)),
        new("batch", "Batch size", Inv(Defaults.BatchSize)),
        new("lr", "Initial learning rate", Inv(Defaults.LearningRate), ValueName: "X"),
        new("seed", "Seed of the split, initialisation, shuffling and augmentation", Inv(Defaults.Seed)),
        new("augment", $"Augmentation preset: {string.Join(", ", AugmentationOptions.PresetNames)} (flips: h/v flips; light: + 90° turns, brightness/contrast; strong: nnU-Net-like), " +
            "optionally with overrides ('strong,ElasticProbability=0.2,RotationDegrees=45'), or a .json file of AugmentationOptions (docs/pipeline.md)", Defaults.Augmentation, ValueName: "SPEC"),
        new("resize", $"Resize policy: {string.Join(", ", PipelineNames.ResizeNames)} (letterbox keeps the aspect ratio and pads)", Defaults.Resize, ValueName: "NAME"),
        new("normalize", $"Intensity normalization: {string.Join(", ", PipelineNames.NormalizationNames)} (dataset/ct: statistics of the training cases, stored in run.json)", Defaults.Normalization, ValueName: "NAME"),
        new("workers", "Data loader worker threads (parallel decode/augmentation)", "2"),
        new("optimizer", $"Optimizer: {string.Join(", ", Optimizers.Names)} (sgd: momentum 0.99, Nesterov)", Defaults.Optimizer, ValueName: "NAME"),
        new("weight-decay", "Weight decay", Inv(Defaults.WeightDecay), ValueName: "X"),
        new("schedule", $"Learning-rate schedule: {string.Join(", ", Schedules.Names)}", Defaults.Schedule, ValueName: "NAME"),
        new("warmup", "Linear warm-up epochs before the cosine schedule", Inv(Defaults.WarmupEpochs)),
        new("clip", "Clip the gradient norm at X (nnU-Net: 12); 0 = off", "0", ValueName: "X"),
        new("patience", "Early stopping after N epochs without validation Dice gain; 0 = off", "0"),
        new("min-delta", "Smallest validation Dice gain that counts for early stopping", "0", ValueName: "X"),
        new("time-budget", "Stop after the epoch that exceeds this time, e.g. 2h, 90m, 1h30m, 01:30:00", ValueName: "TIME"),
        new("loss", $"Loss spec (terms joined by '+', e.g. bce+dice, dice+ce, focal:2, tversky:0.3,0.7); names: {string.Join(", ", LossFactory.Names)}; default bce+dice for binary masks, dice+ce for label maps", ValueName: "SPEC"),
        new("val-fraction", "Fraction of the cases used for validation", "0.2", ValueName: "X"),
        new("device", "auto, cpu, cuda or cuda:N", "auto", ValueName: "DEVICE"),
        new("threads", "Torch CPU threads (default: libtorch's choice)"),
        new("precision", "fp32 (bf16 is refused: TorchSharp 0.107 has no autocast)", "fp32", ValueName: "P"),
        new("progress-file", "Write 'epoch batch batches' to this file after every batch (for scripts)", ValueName: "FILE"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var data = Required(options, "data");
        var model = Required(options, "model");
        var run = Required(options, "out");
        var threads = options.Get("threads") is null ? (int?)null : options.GetInt("threads", 1, max: 1024);
        var fraction = GetDouble(options, "val-fraction", 0.2);
        if (!(fraction > 0 && fraction < 1)) throw new UsageException($"--val-fraction must be between 0 and 1 (exclusive); got {fraction}.");
        var minDelta = GetDouble(options, "min-delta", 0);
        if (minDelta < 0) throw new UsageException("--min-delta must not be negative.");
        var budget = options.Get("time-budget") is { } budgetText ? ParseDuration(budgetText) : (TimeSpan?)null;
        var augmentation = Checked("augment", () => ReadAugmentation(options.Get("augment") ?? Defaults.Augmentation));
        // The engine's settings and their one check (the web form's and the trainer's); the loss is checked again in the mode
        // of the dataset's class count once the scan has found it.
        var settings = new TrainingSettings
        {
            Model = model.Trim().ToLowerInvariant(),
            ModelOptions = new ModelOptions(InChannels: 3, Classes: 1, Variant: options.Get("variant"), DeepSupervision: options.Has("deep-supervision")),
            Epochs = options.GetInt("epochs", Defaults.Epochs, max: 100_000),
            BatchSize = options.GetInt("batch", Defaults.BatchSize, max: 4096),
            ImageSize = options.GetInt("size", Defaults.ImageSize, min: 16, max: 4096),
            LearningRate = GetDouble(options, "lr", Defaults.LearningRate),
            Seed = options.GetInt("seed", Defaults.Seed, min: 0),
            Augmentation = AugmentationOptions.PresetNames.Contains(augmentation.Name) ? augmentation.Name : Defaults.Augmentation,
            Optimizer = options.Get("optimizer") ?? Defaults.Optimizer,
            WeightDecay = GetDouble(options, "weight-decay", Defaults.WeightDecay),
            Schedule = options.Get("schedule") ?? Defaults.Schedule,
            WarmupEpochs = options.GetInt("warmup", Defaults.WarmupEpochs, min: 0, max: 100_000),
            GradientClipNorm = GetDouble(options, "clip", Defaults.GradientClipNorm),
            Loss = options.Get("loss") ?? TrainingPlan.DefaultBinaryLoss,
            EarlyStoppingPatience = options.GetInt("patience", Defaults.EarlyStoppingPatience, min: 0, max: 100_000),
            TimeBudgetHours = budget?.TotalHours ?? 0,
            Resize = options.Get("resize") ?? Defaults.Resize,
            Normalization = options.Get("normalize") ?? Defaults.Normalization,
        };
        if (settings.Check(SettingLimits.Engine).FirstOrDefault(e => e.Field != nameof(TrainingSettings.Loss)) is { } invalid)
            throw new UsageException($"--{OptionOf.GetValueOrDefault(invalid.Field, invalid.Field)}: {invalid.Message}");

        var plan = settings.ToPlan([], [], Path.GetFullPath(run)) with
        {
            Device = options.Get("device") ?? "auto",
            Threads = threads,
            MinDelta = minDelta,
            TimeBudget = budget,
            Precision = options.Get("precision") ?? "fp32",
            Augmentation = augmentation,
            LoaderWorkers = options.GetInt("workers", 2, min: 1, max: 64),
        };
        Checked("loss", () => { using var _ = LossFactory.Create(plan.Loss, LossMode.Multilabel, 1); return 0; });
        Checked("device", () => Devices.Resolve(plan.Device));
        if (plan.Precision.Trim().ToLowerInvariant() is not ("fp32" or "bf16"))
            throw new UsageException($"--precision: unknown precision '{plan.Precision}'. Use fp32 (bf16 is refused: TorchSharp 0.107 has no autocast).");

        output.WriteLine($"Scanning {Path.GetFullPath(data)}…");
        // An image's several masks are united into the run folder, which then holds the masks the run trained on.
        var volumes = IsVolumeDataset(data);
        var (report, volumeOf, volumeChannels) = volumes
            ? SliceVolumes(data, run, options, output, error)
            : (DatasetScanner.Scan(data, allowLabelMaps: true, ImageLimits.Default, Path.Combine(run, "united-masks")), new Dictionary<string, string>(), 0);
        if (report is null) return ExitCodes.Failure;
        if (report.Problems.Count > 0 || report.Pairs.Count == 0)
        {
            foreach (var p in report.Problems) error.WriteLine(p.File.Length > 0 ? $"{p.File}: {p.Problem}" : p.Problem);
            if (report.Problems.Count == 0) error.WriteLine($"{data} holds no image/mask pairs.");
            error.WriteLine($"medseg train: the dataset has {report.Problems.Count} problem(s); fix them and run again.");
            return ExitCodes.Failure;
        }
        if (report.Pairs.Count < 2)
        {
            error.WriteLine("medseg train: the dataset needs at least 2 cases (one to train, one to validate).");
            return ExitCodes.Failure;
        }
        var classes = report.Classes;
        plan = plan with
        {
            ModelOptions = plan.ModelOptions with { Classes = classes, InChannels = volumes ? volumeChannels : plan.ModelOptions.InChannels },
            Loss = options.Get("loss") ?? TrainingPlan.DefaultLoss(classes),
        };
        Checked("loss", () =>
        {
            using var _ = LossFactory.Create(plan.Loss, classes == 1 ? LossMode.Binary : LossMode.Multiclass, classes);
            return 0;
        });
        output.WriteLine(classes == 1
            ? "Classes: 1 (binary masks: one foreground class, sigmoid output)."
            : $"Classes: {classes} (label maps: background 0 and labels 1 … {classes - 1}; softmax output, loss {plan.Loss}).");
        var (train, validation) = volumes ? SplitByVolume(report.Pairs, volumeOf, plan.Seed, fraction)
            : DatasetSplit.Split(report.Pairs, p => p.Name, plan.Seed, fraction);
        static TrainingCase ToCase(ScannedPair p) => new(p.Name, p.ImagePath, p.MaskPath);
        plan = plan with
        {
            Train = [.. train.Select(ToCase)],
            Validation = [.. validation.Select(ToCase)],
            PreviewCases = [.. validation.Select(p => p.Name).Order(StringComparer.Ordinal).Take(PreviewCount)],
        };
        output.WriteLine($"{report.Pairs.Count} cases: {train.Count} training, {validation.Count} validation (seed {plan.Seed}, fraction {fraction.ToString(CultureInfo.InvariantCulture)}).");
        var ceiling = options.Get("max-memory") is null
            ? MemoryCeiling.Default(1)
            : (long)(GetDouble(options, "max-memory", 0) * (1L << 30));
        if (ceiling <= 0) throw new UsageException("--max-memory must be a positive number of GiB.");
        var shape = RunShape.Of(plan, report.Pairs.Max(p => (long)p.Width * p.Height));
        using (var probe = ModelRegistry.Create(plan.Model, plan.ModelOptions))
        {
            if (MemoryEstimate.Check(shape, ceiling, probe.SizeMultiple) is { } tooLarge)
            {
                error.WriteLine($"medseg train: {tooLarge} (--max-memory sets the limit.)");
                return ExitCodes.Failure;
            }
        }
        if (Checkpoints.ReadState(plan.RunDirectory, "last") is { } state)
            output.WriteLine($"{plan.RunDirectory} holds a checkpoint of epoch {state.Epoch}: resuming.");

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var result = TerminalProgress.Run(output, progress =>
            {
                var inProcess = options.Has("in-process");
                var observer = new ConsoleObserver(output, progress, inProcess ? options.Get("progress-file") : null);
                try
                {
                    return inProcess
                        ? new Trainer().RunAsync(plan, observer, cts.Token).GetAwaiter().GetResult()
                        : RunSupervised(plan, observer, ceiling, options.GetInt("max-restarts", 2, min: 0, max: 100),
                            options.Get("progress-file"), cts.Token);
                }
                finally
                {
                    observer.EndLine();
                }
            });
            var how = result.StopReason switch
            {
                StopReason.EarlyStopped => "stopped early",
                StopReason.TimeBudget => "stopped at the time budget",
                _ => "completed",
            };
            output.WriteLine($"Training {how} after epoch {result.EpochsCompleted}: best validation Dice {result.BestValidationDice:F4} at epoch {result.BestEpoch}.");
            output.WriteLine($"Best checkpoint: {result.BestCheckpoint}");
            return ExitCodes.Success;
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("medseg train: cancelled; run the same command again to resume from the last completed epoch.");
            return ExitCodes.Failure;
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        catch (Exception e) when (e is TrainingFailedException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"medseg train: {e.Message}");
            return ExitCodes.Failure;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Trains in a child process (<c>medseg run-experiment</c>) under <see cref="ChildSupervisor"/>, as the web's jobs do:
    /// a child that crashes (a native error, a signal) is started again from the last checkpoint up to
    /// <paramref name="maxRestarts"/> times, so such a crash costs at most the epoch in progress.</summary>
    private static TrainingResult RunSupervised(TrainingPlan plan, ConsoleObserver observer, long ceiling, int maxRestarts,
        string? progressFile, CancellationToken ct)
    {
        var planPath = Path.Combine(plan.RunDirectory, "child-plan.json");
        new TrainingChildPlan(plan).Write(planPath);
        var start = ChildCommands.Medseg(ChildCommands.RunExperiment, planPath, "training process", typeof(TrainCommand).Assembly.Location,
            progressFile is null ? null : ["--progress-file", Path.GetFullPath(progressFile)]);
        for (var restarts = 0; ; restarts++)
        {
            var outcome = ChildSupervisor.RunAsync(start, new ChildLimits(ceiling, TimeSpan.FromSeconds(10)),
                e => ChildProtocol.Replay(e, observer), _ => { }, ct).GetAwaiter().GetResult();
            switch (outcome.End)
            {
                case ChildEnd.Finished:
                    return outcome.Finished!.Result!;
                case ChildEnd.Cancelled:
                    throw new OperationCanceledException(outcome.Reason);
            }
            if (!outcome.Retryable || restarts >= maxRestarts)
            {
                var hint = outcome.SuggestsSmallerRun ? " Lower --batch or --size, or choose a smaller --variant." : "";
                var after = restarts > 0 ? $" (after {restarts} restart(s) from the last checkpoint)" : "";
                throw new TrainingFailedException(outcome.Reason + after + hint);
            }
            observer.OnLog($"{outcome.Reason} Restarting from the last checkpoint (restart {restarts + 1} of {maxRestarts}).");
        }
    }

    /// <summary>A preset spec, or the AugmentationOptions JSON in a .json file.</summary>
    internal static AugmentationOptions ReadAugmentation(string spec)
    {
        if (!spec.Trim().EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return AugmentationOptions.Parse(spec);
        var path = spec.Trim();
        if (!File.Exists(path)) throw new ArgumentException($"the augmentation file {Path.GetFullPath(path)} does not exist.");
        AugmentationOptions options;
        try { options = AugmentationOptions.FromJson(File.ReadAllText(path)); }
        catch (ArgumentException e) { throw new ArgumentException($"{Path.GetFullPath(path)}: {e.Message}", e); }
        return options.Name == "custom" ? options with { Name = $"custom ({Path.GetFileName(path)})" } : options;
    }

    private static string Required(ParsedOptions options, string name) =>
        options.Get(name) is { Length: > 0 } v ? v : throw new UsageException($"--{name} is required.");

    private static T Checked<T>(string option, Func<T> check)
    {
        try
        {
            return check();
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--{option}: {e.Message}");
        }
    }

    private static double GetDouble(ParsedOptions options, string name, double defaultValue)
    {
        var text = options.Get(name);
        if (text is null) return defaultValue;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new UsageException($"--{name} takes a number; got '{text}'.");
    }

    /// <summary>"2h", "90m", "45s", "1h30m", "1.5h" or a TimeSpan such as "01:30:00".</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        var match = DurationPattern().Match(t);
        TimeSpan value;
        if (match.Success && t.Length > 0)
        {
            value = TimeSpan.Zero;
            foreach (Capture part in match.Groups["part"].Captures)
            {
                var unit = part.Value[^1];
                var number = double.Parse(part.Value[..^1], CultureInfo.InvariantCulture);
                value += unit switch { 'h' => TimeSpan.FromHours(number), 'm' => TimeSpan.FromMinutes(number), _ => TimeSpan.FromSeconds(number) };
            }
        }
        else if (!TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out value))
        {
            throw new UsageException($"--time-budget takes a duration such as 2h, 90m, 1h30m or 01:30:00; got '{text}'.");
        }
        return value > TimeSpan.Zero ? value : throw new UsageException("--time-budget must be positive.");
    }

    [GeneratedRegex(@"^(?<part>\d+(\.\d+)?[hms])+$")]
    private static partial Regex DurationPattern();

    /// <summary>Prints a line per epoch and per log message always; on a terminal also Spectre.Console bars for the run
    /// (epochs, with the time remaining) and for the current epoch (batches, running loss).</summary>
    private sealed class ConsoleObserver(TextWriter output, ProgressContext? progress, string? progressFile) : ITrainingObserver
    {
        private readonly Lock gate = new();
        private int epochs;
        private ProgressTask? runTask;
        private ProgressTask? epochTask;

        public void OnStarted(TrainingStarted e)
        {
            epochs = e.Epochs;
            Line($"Device {e.Device}, {e.Parameters / 1e6:F2} M parameters, {e.BatchesPerEpoch} batches per epoch, " +
                 (e.Resumed ? $"resuming at epoch {e.StartEpoch} of {e.Epochs}." : $"{e.Epochs} epochs."));
            if (progress is null) return;
            lock (gate)
            {
                runTask = progress.AddTask("training", maxValue: e.Epochs);
                runTask.Value = e.StartEpoch - 1;
                epochTask = progress.AddTask($"epoch {e.StartEpoch}/{e.Epochs}", maxValue: e.BatchesPerEpoch);
            }
        }

        public void OnBatch(BatchProgress e)
        {
            if (progressFile is not null)
            {
                try
                {
                    File.WriteAllText(progressFile, $"{e.Epoch} {e.Batch} {e.Batches}\n");
                }
                catch (IOException)
                {
                    // A reader holds the file; the next batch writes again.
                }
            }
            if (epochTask is null) return;
            lock (gate)
            {
                epochTask.MaxValue = e.Batches;
                epochTask.Value = e.Batch;
                epochTask.Description = string.Create(CultureInfo.InvariantCulture, $"epoch {e.Epoch}/{epochs}  loss {e.Loss:F4}");
            }
        }

        public void OnEpoch(EpochSummary e)
        {
            var perClass = e.ClassDice is { Count: > 0 } d
                ? " (" + string.Join(", ", d.Select((v, k) => string.Create(CultureInfo.InvariantCulture, $"{k + 1}: {v:F4}"))) + ")"
                : "";
            Line(string.Create(CultureInfo.InvariantCulture,
                $"epoch {e.Epoch,4}/{epochs}  train loss {e.TrainLoss:F4}  val loss {e.ValidationLoss:F4}  Dice {e.ValidationDice:F4}{perClass}  IoU {e.ValidationIoU:F4}  lr {e.LearningRate:0.###e+0}  {e.Seconds,6:F1} s{(e.IsBest ? "  *best" : "")}"));
            if (runTask is null || epochTask is null) return;
            lock (gate)
            {
                runTask.Value = e.Epoch;
                if (e.IsBest) runTask.Description = string.Create(CultureInfo.InvariantCulture, $"training, best Dice {e.ValidationDice:F4} (epoch {e.Epoch})");
                epochTask.Value = 0;
                epochTask.Description = $"epoch {Math.Min(e.Epoch + 1, epochs)}/{epochs}";
            }
        }

        public void OnPreview(PreviewWritten e) { }

        public void OnLog(string message) => Line(message);

        /// <summary>Stops the bars (before the final lines are printed).</summary>
        public void EndLine()
        {
            lock (gate)
            {
                runTask?.StopTask();
                epochTask?.StopTask();
            }
        }

        private void Line(string text)
        {
            lock (gate) TerminalProgress.WriteLine(output, progress, text);
        }
    }
}
