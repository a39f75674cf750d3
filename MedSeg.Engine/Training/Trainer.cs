using System.Diagnostics;
using System.Text.Json;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Models.Weights;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>
/// Trains a segmentation model from a <see cref="TrainingPlan"/> on a dedicated thread: binary (<c>Classes = 1</c>, one
/// sigmoid logit, loss in Binary mode, default BCE + Dice) or multi-class (<c>Classes = K ≥ 2</c>, K softmax logits, masks are
/// label maps 0 … K − 1, loss in Multiclass mode with class-index targets, e.g. <c>"dice+ce"</c>); the plan's optimizer
/// (AdamW or SGD), learning-rate schedule, optional gradient clipping, the plan's augmentation
/// and preprocessing (training batches from a <see cref="Data.Pipeline.BatchLoader"/>),
/// validation every epoch (mean per-case Dice/IoU at threshold 0.5; multi-class: argmax, then per case the mean over the
/// foreground classes 1 … K − 1), previews, a last + best checkpoint every epoch,
/// optional early stopping and time budget. A run directory that already holds a last checkpoint is resumed, exactly:
/// every random draw is a function of (seed, epoch, index), see <see cref="RngScheme"/>.
/// </summary>
public sealed class Trainer
{
    public const double Threshold = 0.5;
    private static readonly Scalar ThresholdScalar = Threshold.ToScalar();
    /// <summary>Default of <see cref="TrainingPlan.WeightDecay"/>.</summary>
    public const double WeightDecay = 1e-4;
    /// <summary>The cosine schedule ends at this fraction of the initial learning rate.</summary>
    public const double MinLearningRateFactor = Schedules.MinLearningRateFactor;
    /// <summary>Recorded in each checkpoint.</summary>
    public const string RngScheme =
        "shuffle: PipelineRandom.EpochOrder(seed, epoch, n); augmentation of case i: PipelineRandom.For(seed, epoch, i); " +
        "torch.manual_seed(seed * 1000 + epoch) at each epoch start; model init: torch.manual_seed(seed)";
    /// <summary>Decoded, resized cases are kept in memory up to this many bytes.</summary>
    public const long MemoryBudgetBytes = 6L << 30;

    private static readonly Lock SeededInitialisation = new();

    public Task<TrainingResult> RunAsync(TrainingPlan plan, ITrainingObserver observer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(observer);
        var tcs = new TaskCompletionSource<TrainingResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                tcs.TrySetResult(Run(plan, observer, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                tcs.TrySetCanceled(ct);
            }
            catch (Exception e)
            {
                tcs.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "MedSeg trainer",
        };
        thread.Start();
        return tcs.Task;
    }

    /// <summary>
    /// Batches per epoch. A trailing batch of a single case is dropped (the shuffle changes which case each epoch):
    /// batch norm over one sample at the bottleneck's tiny spatial size gives NaN statistics.
    /// </summary>
    public static int TrainingBatches(int cases, int batchSize) =>
        cases > batchSize && cases % batchSize == 1 ? cases / batchSize : (cases + batchSize - 1) / batchSize;

    private static TrainingResult Run(TrainingPlan plan, ITrainingObserver observer, CancellationToken ct)
    {
        Validate(plan);
        var device = Devices.Resolve(plan.Device);
        CheckPrecision(plan.Precision, device);
        if (plan.Threads is int threads) set_num_threads(threads);
        var run = plan.RunDirectory;
        Directory.CreateDirectory(run);

        var resumeState = Checkpoints.ReadState(run, "last");
        var previous = resumeState is not null ? RunManifest.Read(run) : null;
        var preprocessing = ResolvePreprocessing(plan, previous, observer, ct);
        var recipe = TrainingRecipe.From(plan, preprocessing);
        var manifest = new RunManifest(plan.Model.ToLowerInvariant(), plan.ModelOptions, plan.ImageSize, Threshold,
            Preprocessing.Describe(preprocessing), DescribeLoss(plan.Loss, plan.ModelOptions.Classes), Optimizers.Describe(plan.Optimizer, plan.WeightDecay),
            plan.LearningRate, Schedules.Describe(plan), plan.Epochs, plan.BatchSize, plan.Seed, DateTimeOffset.UtcNow, recipe);

        if (previous is not null && resumeState is not null)
        {
            if (previous.Model != manifest.Model || previous.ModelOptions != manifest.ModelOptions || previous.ImageSize != manifest.ImageSize)
                throw new TrainingFailedException(
                    $"{run} holds a checkpoint of {previous.Model} {previous.ModelOptions} at {previous.ImageSize} px, " +
                    $"which does not match this plan ({manifest.Model} {manifest.ModelOptions} at {manifest.ImageSize} px). Use a new run directory.");
            if (previous.Recipe is { } before && before.Optimizer != recipe.Optimizer)
                throw new TrainingFailedException(
                    $"{run} was trained with the {before.Optimizer} optimizer, whose state cannot continue as {recipe.Optimizer}. Use a new run directory.");
            if (previous.Recipe is { } old && CurveKey(old) != CurveKey(recipe))
                observer.OnLog($"Note: this plan's training options differ from run.json ({old} → {recipe}); the resumed curve will not match an uninterrupted run.");
            if (resumeState.StopReason == StopReason.EarlyStopped)
            {
                observer.OnLog($"The run stopped early at epoch {resumeState.Epoch} (no validation Dice improvement for {resumeState.EpochsWithoutImprovement} epochs); nothing to do.");
                return Result(run, resumeState) with { StopReason = StopReason.EarlyStopped };
            }
            if (resumeState.Epoch >= plan.Epochs)
            {
                observer.OnLog($"All {plan.Epochs} epochs are already in the checkpoint; nothing to do.");
                return Result(run, resumeState);
            }
        }
        else
        {
            manifest.Write(run);
        }

        RunSplit.From(plan).Write(run);

        SegmentationModel created;
        lock (SeededInitialisation) // torch's generator is process-wide: two trainings must not interleave their draws here
        {
            manual_seed(plan.Seed);
            created = ModelRegistry.Create(plan.Model, plan.ModelOptions);
        }
        using var model = created;
        model.CheckInputSize(plan.ImageSize, plan.ImageSize);
        model.to(device);

        observer.OnLog($"Decoding {plan.Train.Count} training and {plan.Validation.Count} validation cases at {plan.ImageSize}×{plan.ImageSize}…");
        var clock = Stopwatch.StartNew();
        var channels = plan.ModelOptions.InChannels;
        var validation = CaseStore.Load(plan.Validation, plan.ImageSize, channels, preprocessing, ct);
        CheckLabels(validation.MaxLabel, plan.ModelOptions.Classes, "a validation mask");
        var budgetLeft = MemoryBudgetBytes - CaseStore.Bytes(plan.Validation.Count, plan.ImageSize, channels);
        var train = CaseSources.Open(plan.Train, plan.ImageSize, channels, preprocessing, budgetLeft, ct);
        if (train is CaseStore cached) CheckLabels(cached.MaxLabel, plan.ModelOptions.Classes, "a training mask"); // else per batch
        observer.OnLog(train is CaseStore
            ? $"Decoded in {clock.Elapsed.TotalSeconds:F1} s (training cases cached in memory)."
            : $"Decoded the validation cases in {clock.Elapsed.TotalSeconds:F1} s; the training cases exceed the memory budget and are decoded on the fly by {plan.LoaderWorkers} worker(s).");
        var described = Preprocessing.Describe(preprocessing);
        observer.OnLog($"Augmentation {plan.Augmentation.Name}; resize {preprocessing.Resize}; normalization {described.Method} ({described.Description}).");
        using var loader = new BatchLoader(train, new BatchLoaderOptions
        {
            BatchSize = plan.BatchSize, Workers = plan.LoaderWorkers, Prefetch = plan.LoaderPrefetch,
            Augmentation = plan.Augmentation, Seed = plan.Seed, DropSingletonTail = true,
        });

        // Weights: read the checkpoint into the NCHW model first (TorchSharp cannot load into channels-last weights),
        // then convert where the model trains faster so, then build the optimizer over the final parameters.
        if (resumeState is not null) model.load(Checkpoints.Weights(run, "last"));
        else if (plan.PretrainedWeights is { } pretrained) LoadPretrained(model, plan.Model, pretrained, observer);
        if (model.TrainsChannelsLastWeights) Performance.ToChannelsLast(model);
        using var optimizer = Optimizers.Create(plan.Optimizer, model.parameters(), plan.LearningRate, plan.WeightDecay);
        using var criterion = CreateLoss(plan);
        // Deep supervision (UNet++): the loss on every head, equal weights as in the paper; validation scores the prediction.
        using var supervised = model is IDeepSupervised { DeepSupervision: true } deep
            ? new DeepSupervisionLoss(CreateLoss(plan), DeepSupervisionLoss.EqualWeights(deep.HeadCount)) : null;
        if (supervised is not null)
            observer.OnLog($"Deep supervision: the loss is the mean of the {supervised.Weights!.Count} heads' losses; predictions average the heads.");

        var history = new List<EpochSummary>();
        var (startEpoch, bestEpoch, bestDice) = (1, 0, double.NegativeInfinity);
        EarlyStopping? stopping = plan.EarlyStoppingPatience is int patience ? new EarlyStopping(patience, plan.MinDelta) : null;
        if (resumeState is not null)
        {
            if (File.Exists(Checkpoints.Optimizer(run, "last")))
            {
                Performance.MakeStateContiguous(optimizer); // the state of channels-last weights cannot be read into
                optimizer.load_state_dict(Checkpoints.Optimizer(run, "last"));
            }
            history.AddRange(resumeState.History);
            (startEpoch, bestEpoch, bestDice) = (resumeState.Epoch + 1, resumeState.BestEpoch, resumeState.BestValidationDice);
            if (stopping is not null)
                stopping = new EarlyStopping(stopping.Patience, stopping.MinDelta, resumeState.EarlyStoppingBest ?? double.NegativeInfinity,
                    resumeState.EpochsWithoutImprovement);
            observer.OnLog($"Resuming from the checkpoint of epoch {resumeState.Epoch} (best Dice {bestDice:F4} at epoch {bestEpoch}" +
                (resumeState.LearningRate is double savedLr ? $", learning rate {savedLr:G4}" : "") + ").");
        }
        observer.OnLog($"Optimizer {Optimizers.Describe(plan.Optimizer, plan.WeightDecay)}; learning rate {plan.LearningRate:G4}, {Schedules.Describe(plan)}; " +
            $"loss {plan.Loss} ({Mode(plan)} mode{(plan.ModelOptions.Classes > 1 ? $", {plan.ModelOptions.Classes} classes with background" : "")}); gradient clipping {(plan.GradientClipNorm is double clip ? $"at norm {clip:G4}" : "off")}; precision {plan.Precision}.");
        if (stopping is not null)
            observer.OnLog($"Early stopping after {stopping.Patience} epoch(s) without a validation Dice gain above {stopping.MinDelta:G4}" +
                (stopping.EpochsWithoutImprovement > 0 ? $" ({stopping.EpochsWithoutImprovement} so far)." : "."));
        if (plan.TimeBudget is TimeSpan budget) observer.OnLog($"Time budget {budget}: training stops after the epoch that exceeds it.");

        var batches = TrainingBatches(train.Count, plan.BatchSize);
        observer.OnStarted(new TrainingStarted(device.ToString(), model.ParameterCount(), startEpoch, plan.Epochs, batches, resumeState is not null));

        var previewSet = new HashSet<string>(plan.PreviewCases, StringComparer.Ordinal);
        foreach (var missing in previewSet.Where(n => validation.IndexOf(n) < 0))
            observer.OnLog($"Preview case '{missing}' is not a validation case; no preview is written for it.");

        var runClock = Stopwatch.StartNew();
        var stopReason = StopReason.Completed;
        for (var epoch = startEpoch; epoch <= plan.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var lr = Schedules.LearningRate(plan, epoch);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            if (epoch == plan.WarmupEpochs + 1 && plan.WarmupEpochs > 0 && Schedules.Normalize(plan.Schedule) == "cosine")
                observer.OnLog($"Warm-up done; cosine schedule from learning rate {lr:G4}.");
            manual_seed(Seeds.Torch(plan.Seed, epoch));

            var trainLoss = TrainEpoch(model, optimizer, criterion, supervised, loader, plan, device, epoch, batches, observer, ct);
            var (valLoss, valDice, valIoU, classDice, volumeDice) = ValidateEpoch(model, criterion, validation, plan, device, epoch, previewSet, observer, ct);

            var isBest = valDice > bestDice;
            if (isBest) (bestEpoch, bestDice) = (epoch, valDice);
            var summary = new EpochSummary(epoch, trainLoss, valLoss, valDice, valIoU, lr, epochClock.Elapsed.TotalSeconds, isBest, classDice, volumeDice);
            history.Add(summary);

            StopReason? stop = null;
            string? why = null;
            if (stopping is not null && stopping.Update(valDice) && epoch < plan.Epochs)
            {
                stop = StopReason.EarlyStopped;
                why = $"Early stopping at epoch {epoch}: validation Dice has not improved by more than {stopping.MinDelta:G4} " +
                      $"over {stopping.Best:F4} for {stopping.EpochsWithoutImprovement} epoch(s).";
            }
            else if (plan.TimeBudget is TimeSpan limit && runClock.Elapsed > limit && epoch < plan.Epochs)
            {
                stop = StopReason.TimeBudget;
                why = $"Time budget of {limit} exceeded after epoch {epoch} ({runClock.Elapsed:hh\\:mm\\:ss} of training); " +
                      "stopping. Run again on the same run directory to go on.";
            }
            else if (stopping is not null && stopping.EpochsWithoutImprovement > 0)
            {
                observer.OnLog($"No validation Dice improvement for {stopping.EpochsWithoutImprovement}/{stopping.Patience} epoch(s).");
            }

            var state = new CheckpointState(epoch, bestEpoch, bestDice, plan.Seed, RngScheme, [.. history], DateTimeOffset.UtcNow,
                lr, stopping?.Best, stopping?.EpochsWithoutImprovement ?? 0, stop);
            SaveCheckpoints(run, model, optimizer, state, isBest);
            observer.OnEpoch(summary);
            if (stop is StopReason reason)
            {
                observer.OnLog(why!);
                stopReason = reason;
                break;
            }
        }

        return Result(run, Checkpoints.ReadState(run, "last")!) with { StopReason = stopReason };
    }

    /// <summary>
    /// The plan's preprocessing with every value it needs: a dataset z-score or CT window given without statistics gets
    /// them from a <see cref="DatasetFingerprint"/> of the training cases (or, on resume, from run.json, so a resumed run
    /// normalizes exactly as it started).
    /// </summary>
    public static PreprocessingOptions ResolvePreprocessing(TrainingPlan plan, RunManifest? previous, ITrainingObserver observer, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(observer);
        var options = plan.Preprocessing ?? throw new ArgumentException("The plan's Preprocessing must not be null.");
        var n = options.EffectiveNormalization;
        var missing = n.Mode switch
        {
            NormalizationMode.DatasetZScore => n.Mean is null || n.Std is null,
            NormalizationMode.CtWindow => n.Low is null || n.High is null,
            _ => false,
        };
        if (!missing) return options;
        if (previous?.Recipe?.Preprocessing is { } prior && prior.Resize == options.Resize && prior.EffectiveNormalization.Mode == n.Mode)
            return prior;
        if (plan.Train.Count == 0) return options; // Validate reports the empty plan
        observer.OnLog($"Computing the dataset fingerprint of {plan.Train.Count} training cases for the {n.Mode} normalization…");
        var fingerprint = DatasetFingerprint.Compute(plan.Train, channels: plan.ModelOptions.InChannels, ct: ct);
        var resolved = n.Mode == NormalizationMode.DatasetZScore ? fingerprint.DatasetZScore() : fingerprint.CtWindow();
        return options with { Normalization = resolved };
    }

    /// <summary>The recipe fields that shape the curve, as JSON (lists compare by value).</summary>
    private static string CurveKey(TrainingRecipe recipe) =>
        JsonSerializer.Serialize(recipe with { TimeBudget = null, Device = "", Threads = null }, RunManifest.Json);

    private static void CheckPrecision(string precision, Device device)
    {
        switch (precision.Trim().ToLowerInvariant())
        {
            case "fp32":
                return;
            case "bf16" when device.type != DeviceType.CUDA:
                throw new ArgumentException("Precision 'bf16' is for CUDA devices only; on the CPU train in 'fp32'.");
            case "bf16":
                throw new ArgumentException(
                    "Precision 'bf16' is not available: TorchSharp 0.107 exposes no autocast (mixed precision), and casting the whole model " +
                    "to bfloat16 is not mixed precision. Use 'fp32'.");
            default:
                throw new ArgumentException($"Unknown precision '{precision}'. Use 'fp32' (or 'bf16' once TorchSharp offers autocast).");
        }
    }

    private static string DescribeLoss(string spec, int classes) =>
        classes == 1 && spec.Trim().Equals("bce+dice", StringComparison.OrdinalIgnoreCase)
            ? "bce+dice (BCE-with-logits + soft Dice, smooth 1, equal weights)"
            : classes == 1
                ? $"{spec.Trim()} (LossFactory spec, Binary mode)"
                : $"{spec.Trim()} (LossFactory spec, Multiclass mode, {classes} classes, class-index targets)";

    /// <summary>Refuses a mask label the model has no class for (a label map trained as binary, or with too few classes).</summary>
    private static void CheckLabels(int maxLabel, int classes, string where)
    {
        var allowed = Math.Max(1, classes - 1);
        if (maxLabel > allowed)
            throw new TrainingFailedException(
                $"{where} holds label {maxLabel}, but the model has {classes} output class(es) (labels 0 … {allowed}); set ModelOptions.Classes to " +
                "the dataset's class count (DatasetScanner's ScanReport.Classes: 1 for binary masks, 1 + the largest label for label maps).");
    }

    private static LossMode Mode(TrainingPlan plan) => plan.ModelOptions.Classes == 1 ? LossMode.Binary : LossMode.Multiclass;

    /// <summary>The plan's loss: Binary mode for one output channel, Multiclass mode (softmax over K channels) otherwise.</summary>
    private static nn.Module<Tensor, Tensor, Tensor> CreateLoss(TrainingPlan plan) =>
        LossFactory.Create(plan.Loss, Mode(plan), plan.ModelOptions.Classes);

    /// <summary>The loss target of a (B, 1, S, S) float mask batch: itself for a binary model, (B, S, S) int64 class indices
    /// for a multi-class one.</summary>
    private static Tensor Targets(Tensor masks, int classes) => classes == 1 ? masks : masks.squeeze(1).to(ScalarType.Int64);

    private static double TrainEpoch(SegmentationModel model, OptimizerHelper optimizer, nn.Module<Tensor, Tensor, Tensor> criterion,
        DeepSupervisionLoss? supervised, BatchLoader loader, TrainingPlan plan, Device device, int epoch, int batches, ITrainingObserver observer, CancellationToken ct)
    {
        model.train();
        double sum = 0;
        var count = 0;
        var b = 0;
        foreach (var batch in loader.Epoch(epoch, PipelineRandom.EpochOrder(plan.Seed, epoch, loader.Source.Count), ct))
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            if (loader.Source is not CaseStore) // cached cases were checked once, before the first epoch
                CheckLabels(batch.Masks.Length == 0 ? 0 : (int)batch.Masks.Max(), plan.ModelOptions.Classes, $"a training mask of epoch {epoch} batch {b + 1}");
            var (x, y) = batch.ToTensors(device);
            x = Performance.ToChannelsLast(x); // every model trains faster on channels-last batches
            var targets = Targets(y, plan.ModelOptions.Classes);
            var loss = supervised is not null && model is IDeepSupervised heads
                ? supervised.call(heads.ForwardHeads(x), targets)
                : criterion.call(model.call(x), targets);
            var value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new TrainingFailedException(
                    $"loss became {(float.IsNaN(value) ? "NaN" : "infinite")} at epoch {epoch} batch {b + 1}; lower the learning rate " +
                    "(e.g. by 10×), check that the images are not constant, and resume from the last checkpoint or start a new run.",
                    kind: TrainingFailureKind.NonFiniteLoss);
            optimizer.zero_grad();
            loss.backward();
            if (plan.GradientClipNorm is double maxNorm) nn.utils.clip_grad_norm_(model.parameters(), maxNorm);
            optimizer.step();
            sum += value * batch.Count;
            count += batch.Count;
            b++;
            observer.OnBatch(new BatchProgress(epoch, b, batches, sum / count));
        }
        return sum / count;
    }

    /// <summary>Validation loss, mean per-case Dice and IoU and, for a multi-class model, the mean Dice of each foreground
    /// class 1 … K − 1 (a case's Dice is then the mean over those classes; a class absent from both masks scores 1,
    /// docs/metrics.md), and the mean Dice of the validation volumes scored whole (<see cref="VolumeScorer"/>; null without
    /// volumes). Writes the previews.</summary>
    private static (double Loss, double Dice, double IoU, IReadOnlyList<double>? ClassDice, IReadOnlyList<double>? VolumeDice) ValidateEpoch(SegmentationModel model,
        nn.Module<Tensor, Tensor, Tensor> criterion, CaseStore validation, TrainingPlan plan, Device device, int epoch,
        HashSet<string> previews, ITrainingObserver observer, CancellationToken ct)
    {
        model.eval();
        using var _ = no_grad();
        var classes = plan.ModelOptions.Classes;
        double lossSum = 0, diceSum = 0, iouSum = 0;
        var classDiceSums = new double[Math.Max(classes, 2)];
        var previewFolder = $"previews/epoch-{epoch:D3}";
        var volumes = validation.Cases.Any(c => c.Volume is not null) ? new VolumeScorer() : null;
        for (var start = 0; start < validation.Count; start += plan.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var indices = Enumerable.Range(start, Math.Min(plan.BatchSize, validation.Count - start)).ToArray();
            var (x, y) = validation.Batch(indices, device);
            x = Performance.ToChannelsLast(x); // every model trains faster on channels-last batches
            var logits = model.call(x);
            var loss = criterion.call(logits, Targets(y, classes)).item<float>();
            if (!float.IsFinite(loss))
                throw new TrainingFailedException(
                    $"validation loss became {(float.IsNaN(loss) ? "NaN" : "infinite")} at epoch {epoch}; lower the learning rate (e.g. by 10×) and start again.",
                    kind: TrainingFailureKind.NonFiniteLoss);
            lossSum += loss * indices.Length;
            var probabilities = (classes == 1 ? logits.sigmoid() : logits.softmax(1)).cpu();
            var predicted = classes == 1 ? probabilities.ge(ThresholdScalar) : probabilities.argmax(1, keepdim: true);
            var truth = y.cpu();
            for (var i = 0; i < indices.Length; i++)
            {
                if (classes == 1)
                {
                    var counts = ConfusionCounts.From(predicted[i], truth[i]);
                    diceSum += SegmentationMetrics.Dice(counts);
                    iouSum += SegmentationMetrics.IoU(counts);
                }
                else
                {
                    var p = predicted[i].to(ScalarType.Byte).contiguous().data<byte>().ToArray();
                    var t = truth[i].to(ScalarType.Byte).contiguous().data<byte>().ToArray();
                    double caseDice = 0, caseIoU = 0;
                    for (var k = 1; k < classes; k++)
                    {
                        var counts = ConfusionCounts.FromLabels(p, t, (byte)k);
                        var dice = SegmentationMetrics.Dice(counts);
                        classDiceSums[k] += dice;
                        caseDice += dice;
                        caseIoU += SegmentationMetrics.IoU(counts);
                    }
                    diceSum += caseDice / (classes - 1);
                    iouSum += caseIoU / (classes - 1);
                }
                var c = validation.Cases[indices[i]];
                if (volumes is not null && c.Volume is { } v)
                {
                    var (rows, columns) = ((int)truth.shape[2], (int)truth.shape[3]);
                    volumes.Add(v.Id, v.Slice, predicted[i].to(ScalarType.Byte).contiguous().data<byte>().ToArray(),
                        truth[i].to(ScalarType.Byte).contiguous().data<byte>().ToArray(), rows, columns);
                }
                if (!previews.Contains(c.Name)) continue;
                var geometry = validation.Geometry(indices[i]);
                var (w, h) = (geometry.OriginalWidth, geometry.OriginalHeight);
                var relative = $"{previewFolder}/{c.Name}.png";
                var path = Path.Combine(plan.RunDirectory, relative);
                if (classes == 1)
                    Preprocessing.WriteMaskPng(Preprocessing.ToOriginalSize(probabilities[i, 0], geometry, Threshold), w, h, path);
                else
                    Preprocessing.WriteLabelPreviewPng(Preprocessing.ToOriginalLabels(probabilities[i], geometry), w, h, classes, path);
                observer.OnPreview(new PreviewWritten(epoch, c.Name, Path.GetFullPath(path), relative));
            }
        }
        var n = validation.Count;
        IReadOnlyList<double>? perClass = classes == 1 ? null : [.. classDiceSums.Skip(1).Take(classes - 1).Select(d => d / n)];
        var volumeDice = volumes is null ? null : VolumeScorer.MeanDice(volumes.Score(classes));
        return (lossSum / n, diceSum / n, iouSum / n, perClass, volumeDice);
    }

    /// <summary>The plan's schedule at a 1-based epoch; see <see cref="Schedules"/>.</summary>
    public static double LearningRate(TrainingPlan plan, int epoch) => Schedules.LearningRate(plan, epoch);

    /// <summary>Writes the epoch's checkpoints (best first, then last). A write that fails (full or read-only data folder)
    /// leaves the previous checkpoint of that tag in place, whole (<see cref="Checkpoints.Save"/> commits by rename), and
    /// stops the run with a message that says so.</summary>
    private static void SaveCheckpoints(string run, nn.Module model, OptimizerHelper optimizer, CheckpointState state, bool isBest)
    {
        try
        {
            if (isBest) Checkpoints.Save(run, "best", model, null, state);
            Checkpoints.Save(run, "last", model, optimizer, state);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Runtime.InteropServices.ExternalException)
        {
            foreach (var tag in new[] { "best", "last" })
            {
                try
                {
                    Checkpoints.Recover(run, tag); // discards the uncommitted write; the committed one stays
                }
                catch (Exception again) when (again is IOException or UnauthorizedAccessException)
                {
                    // The folder is unwritable: the next start's recovery finishes the job.
                }
            }
            var previous = Checkpoints.ReadCommittedState(run, "last")?.Epoch;
            throw new TrainingFailedException(
                $"The checkpoint of epoch {state.Epoch} could not be written to {Checkpoints.Folder}/ ({e.Message}). " +
                (previous is int p ? $"The previous checkpoint (epoch {p}) is still valid. " : "No earlier checkpoint exists. ") +
                "Free disk space or make the data folder writable, then resume.", e, TrainingFailureKind.Checkpoint);
        }
    }

    /// <summary>The result the run's last checkpoint stands for, without training (null when it has none): a run whose time
    /// budget was spent before its evaluation.</summary>
    public static TrainingResult? ResultOfCheckpoint(string runDirectory, int plannedEpochs)
    {
        if (Checkpoints.ReadState(runDirectory, "last") is not { } state) return null;
        return Result(runDirectory, state) with
        {
            StopReason = state.StopReason ?? (state.Epoch < plannedEpochs ? StopReason.TimeBudget : StopReason.Completed),
        };
    }

    private static TrainingResult Result(string run, CheckpointState state)
    {
        var best = File.Exists(Checkpoints.Weights(run, "best")) ? Checkpoints.Weights(run, "best") : Checkpoints.Weights(run, "last");
        return new TrainingResult(state.Epoch, state.BestEpoch, state.BestValidationDice, Path.GetFullPath(best),
            Path.GetFullPath(Checkpoints.Weights(run, "last")));
    }

    /// <summary>A fresh start from pretrained weights: loads them, logs the key report, and refuses a file that loads nothing
    /// (training it would silently be training from scratch).</summary>
    private static void LoadPretrained(SegmentationModel model, string modelName, PretrainedWeightsSource source, ITrainingObserver observer)
    {
        var name = Path.GetFileName(source.Path);
        WeightLoadReport report;
        try
        {
            report = PretrainedWeights.LoadInto(model, source.Path, source.KeyMap);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new TrainingFailedException($"The pretrained weights {name} could not be read: {e.Message}", e);
        }
        if (report.Loaded.Count == 0)
            throw new TrainingFailedException($"The pretrained weights {name} loaded no tensor into {modelName}.\n{report}");
        observer.OnLog($"Pretrained weights {name}: {report}");
    }

    /// <summary>The settings' rules (<see cref="TrainingSettings.Check"/>, the same the form, the API and the CLI apply; each
    /// message starts with its field) and what only a plan has: cases, loaders, the validation cache's memory.</summary>
    private static void Validate(TrainingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan.Augmentation);
        var errors = TrainingSettings.Of(plan).Check(SettingLimits.Engine).Select(e => $"{e.Field}: {e.Message}").ToList();
        if (plan.EarlyStoppingPatience is < 1) errors.Add("EarlyStoppingPatience: must be at least 1 epoch (or null = off).");
        if (!(plan.MinDelta >= 0)) errors.Add("MinDelta: must not be negative.");
        if (plan.TimeBudget is { } t && t <= TimeSpan.Zero) errors.Add("TimeBudget: must be positive (or null = off).");
        if (errors.Count > 0) throw new ArgumentException(string.Join(" ", errors));
        plan.Augmentation.Validate();
        if (plan.LoaderWorkers < 1) throw new ArgumentException("LoaderWorkers must be at least 1.");
        if (plan.LoaderPrefetch < 1) throw new ArgumentException("LoaderPrefetch must be at least 1.");
        if (plan.Train.Count == 0) throw new ArgumentException("The plan has no training cases.");
        if (plan.Validation.Count == 0) throw new ArgumentException("The plan has no validation cases; validation picks the best checkpoint.");
        var bytes = CaseStore.Bytes(plan.Validation.Count, plan.ImageSize, plan.ModelOptions.InChannels);
        if (bytes > MemoryBudgetBytes)
            throw new ArgumentException(
                $"The resized validation cases need {bytes / (1 << 20)} MiB of memory, over the {MemoryBudgetBytes >> 20} MiB budget; lower ImageSize or use fewer cases.");
    }
}
