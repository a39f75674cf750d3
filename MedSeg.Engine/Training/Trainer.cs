using System.Diagnostics;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>
/// Trains a binary segmentation model from a <see cref="TrainingPlan"/> on a dedicated thread: BCE + Dice loss, AdamW
/// with a cosine schedule over epochs, random flips, validation every epoch (mean per-case Dice/IoU at threshold 0.5),
/// previews, and a last + best checkpoint every epoch. A run directory that already holds a last checkpoint is resumed.
/// </summary>
public sealed class Trainer
{
    public const double Threshold = 0.5;
    public const double WeightDecay = 1e-4;
    /// <summary>The cosine schedule ends at this fraction of the initial learning rate.</summary>
    public const double MinLearningRateFactor = 0.01;
    /// <summary>Decoded, resized cases are kept in memory up to this many bytes.</summary>
    public const long MemoryBudgetBytes = 6L << 30;

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
        if (plan.Threads is int threads) set_num_threads(threads);
        var run = plan.RunDirectory;
        Directory.CreateDirectory(run);

        var manifest = new RunManifest(plan.Model.ToLowerInvariant(), plan.ModelOptions, plan.ImageSize, Threshold,
            Preprocessing.Normalization, "bce+dice (BCE-with-logits + soft Dice, smooth 1, equal weights)",
            $"AdamW (weight decay {WeightDecay})", plan.LearningRate,
            $"cosine over epochs to {MinLearningRateFactor} × learning rate, set per epoch", plan.Epochs, plan.BatchSize,
            plan.Seed, DateTimeOffset.UtcNow);

        var resumeState = Checkpoints.ReadState(run, "last");
        if (resumeState is not null)
        {
            var previous = RunManifest.Read(run);
            if (previous.Model != manifest.Model || previous.ModelOptions != manifest.ModelOptions || previous.ImageSize != manifest.ImageSize)
                throw new TrainingFailedException(
                    $"{run} holds a checkpoint of {previous.Model} {previous.ModelOptions} at {previous.ImageSize} px, " +
                    $"which does not match this plan ({manifest.Model} {manifest.ModelOptions} at {manifest.ImageSize} px). Use a new run directory.");
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

        manual_seed(plan.Seed);
        using var model = ModelRegistry.Create(plan.Model, plan.ModelOptions);
        model.CheckInputSize(plan.ImageSize, plan.ImageSize);
        model.to(device);

        observer.OnLog($"Decoding {plan.Train.Count} training and {plan.Validation.Count} validation cases at {plan.ImageSize}×{plan.ImageSize}…");
        var clock = Stopwatch.StartNew();
        var train = CaseStore.Load(plan.Train, plan.ImageSize, plan.ModelOptions.InChannels, ct);
        var validation = CaseStore.Load(plan.Validation, plan.ImageSize, plan.ModelOptions.InChannels, ct);
        observer.OnLog($"Decoded in {clock.Elapsed.TotalSeconds:F1} s.");

        using var optimizer = optim.AdamW(model.parameters(), lr: plan.LearningRate, weight_decay: WeightDecay);
        using var criterion = new BceDiceLoss();

        var history = new List<EpochSummary>();
        var (startEpoch, bestEpoch, bestDice) = (1, 0, double.NegativeInfinity);
        if (resumeState is not null)
        {
            model.load(Checkpoints.Weights(run, "last"));
            if (File.Exists(Checkpoints.Optimizer(run, "last"))) optimizer.load_state_dict(Checkpoints.Optimizer(run, "last"));
            history.AddRange(resumeState.History);
            (startEpoch, bestEpoch, bestDice) = (resumeState.Epoch + 1, resumeState.BestEpoch, resumeState.BestValidationDice);
            observer.OnLog($"Resuming from the checkpoint of epoch {resumeState.Epoch} (best Dice {bestDice:F4} at epoch {bestEpoch}).");
        }

        var batches = TrainingBatches(train.Count, plan.BatchSize);
        observer.OnStarted(new TrainingStarted(device.ToString(), model.ParameterCount(), startEpoch, plan.Epochs, batches, resumeState is not null));

        var previewSet = new HashSet<string>(plan.PreviewCases, StringComparer.Ordinal);
        foreach (var missing in previewSet.Where(n => validation.IndexOf(n) < 0))
            observer.OnLog($"Preview case '{missing}' is not a validation case; no preview is written for it.");

        for (var epoch = startEpoch; epoch <= plan.Epochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            var lr = LearningRate(plan, epoch);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            manual_seed(plan.Seed + epoch);
            var random = new Random(HashCode.Combine(plan.Seed, epoch));

            var trainLoss = TrainEpoch(model, optimizer, criterion, train, plan.BatchSize, device, random, epoch, batches, observer, ct);
            var (valLoss, valDice, valIoU) = ValidateEpoch(model, criterion, validation, plan, device, epoch, previewSet, observer, ct);

            var isBest = valDice > bestDice;
            if (isBest) (bestEpoch, bestDice) = (epoch, valDice);
            var summary = new EpochSummary(epoch, trainLoss, valLoss, valDice, valIoU, lr, epochClock.Elapsed.TotalSeconds, isBest);
            history.Add(summary);

            var state = new CheckpointState(epoch, bestEpoch, bestDice, plan.Seed, "System.Random(HashCode.Combine(seed, epoch)); torch.manual_seed(seed + epoch)",
                [.. history], DateTimeOffset.UtcNow);
            if (isBest) Checkpoints.Save(run, "best", model, null, state);
            Checkpoints.Save(run, "last", model, optimizer, state);
            observer.OnEpoch(summary);
        }

        return Result(run, Checkpoints.ReadState(run, "last")!);
    }

    private static double TrainEpoch(SegmentationModel model, OptimizerHelper optimizer, BceDiceLoss criterion, CaseStore train,
        int batchSize, Device device, Random random, int epoch, int batches, ITrainingObserver observer, CancellationToken ct)
    {
        model.train();
        var order = Enumerable.Range(0, train.Count).ToArray();
        random.Shuffle(order);
        double sum = 0;
        var count = 0;
        for (var b = 0; b < batches; b++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var indices = order.Skip(b * batchSize).Take(batchSize).ToArray();
            var (x, y) = train.Batch(indices, random, device);
            var logits = model.call(x);
            var loss = criterion.call(logits, y);
            var value = loss.item<float>();
            if (!float.IsFinite(value))
                throw new TrainingFailedException(
                    $"loss became {(float.IsNaN(value) ? "NaN" : "infinite")} at epoch {epoch} batch {b + 1}; lower the learning rate " +
                    "(e.g. by 10×), check that the images are not constant, and resume from the last checkpoint or start a new run.");
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            sum += value * indices.Length;
            count += indices.Length;
            observer.OnBatch(new BatchProgress(epoch, b + 1, batches, sum / count));
        }
        return sum / count;
    }

    private static (double Loss, double Dice, double IoU) ValidateEpoch(SegmentationModel model, BceDiceLoss criterion,
        CaseStore validation, TrainingPlan plan, Device device, int epoch, HashSet<string> previews, ITrainingObserver observer,
        CancellationToken ct)
    {
        model.eval();
        using var _ = no_grad();
        double lossSum = 0, diceSum = 0, iouSum = 0;
        var previewFolder = $"previews/epoch-{epoch:D3}";
        for (var start = 0; start < validation.Count; start += plan.BatchSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var indices = Enumerable.Range(start, Math.Min(plan.BatchSize, validation.Count - start)).ToArray();
            var (x, y) = validation.Batch(indices, null, device);
            var logits = model.call(x);
            var loss = criterion.call(logits, y).item<float>();
            if (!float.IsFinite(loss))
                throw new TrainingFailedException(
                    $"validation loss became {(float.IsNaN(loss) ? "NaN" : "infinite")} at epoch {epoch}; lower the learning rate (e.g. by 10×) and start again.");
            lossSum += loss * indices.Length;
            var probabilities = logits.sigmoid().cpu();
            var predicted = probabilities.ge(Threshold);
            var truth = y.cpu();
            for (var i = 0; i < indices.Length; i++)
            {
                var counts = ConfusionCounts.From(predicted[i], truth[i]);
                diceSum += SegmentationMetrics.Dice(counts);
                iouSum += SegmentationMetrics.IoU(counts);
                var c = validation.Cases[indices[i]];
                if (!previews.Contains(c.Name)) continue;
                var (w, h) = validation.OriginalSize(indices[i]);
                var mask = Preprocessing.ToOriginalSize(probabilities[i, 0], w, h, Threshold);
                var relative = $"{previewFolder}/{c.Name}.png";
                var path = Path.Combine(plan.RunDirectory, relative);
                Preprocessing.WriteMaskPng(mask, w, h, path);
                observer.OnPreview(new PreviewWritten(epoch, c.Name, Path.GetFullPath(path), relative));
            }
        }
        var n = validation.Count;
        return (lossSum / n, diceSum / n, iouSum / n);
    }

    /// <summary>Cosine from the plan's rate at epoch 1 towards <see cref="MinLearningRateFactor"/> × rate after the last epoch.</summary>
    public static double LearningRate(TrainingPlan plan, int epoch)
    {
        var min = plan.LearningRate * MinLearningRateFactor;
        return min + (plan.LearningRate - min) * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1) / plan.Epochs));
    }

    private static TrainingResult Result(string run, CheckpointState state)
    {
        var best = File.Exists(Checkpoints.Weights(run, "best")) ? Checkpoints.Weights(run, "best") : Checkpoints.Weights(run, "last");
        return new TrainingResult(state.Epoch, state.BestEpoch, state.BestValidationDice, Path.GetFullPath(best),
            Path.GetFullPath(Checkpoints.Weights(run, "last")));
    }

    private static void Validate(TrainingPlan plan)
    {
        if (!ModelRegistry.Contains(plan.Model))
            throw new ArgumentException($"Unknown model '{plan.Model}'. Registered models: {string.Join(", ", ModelRegistry.Names)}.");
        if (plan.ModelOptions.Classes != 1)
            throw new ArgumentException("The trainer trains binary models (Classes = 1); multi-class training is not implemented yet.");
        if (plan.Epochs < 1) throw new ArgumentException("Epochs must be at least 1.");
        if (plan.BatchSize < 1) throw new ArgumentException("BatchSize must be at least 1.");
        if (plan.ImageSize < 1) throw new ArgumentException("ImageSize must be positive.");
        if (!(plan.LearningRate > 0) || double.IsInfinity(plan.LearningRate)) throw new ArgumentException("LearningRate must be a positive number.");
        if (plan.Train.Count == 0) throw new ArgumentException("The plan has no training cases.");
        if (plan.Validation.Count == 0) throw new ArgumentException("The plan has no validation cases; validation picks the best checkpoint.");
        var bytes = (long)(plan.Train.Count + plan.Validation.Count) * plan.ImageSize * plan.ImageSize * (4L * plan.ModelOptions.InChannels + 1);
        if (bytes > MemoryBudgetBytes)
            throw new ArgumentException(
                $"The resized dataset needs {bytes / (1 << 20)} MiB of memory, over the {MemoryBudgetBytes >> 20} MiB budget; lower ImageSize or use fewer cases.");
    }
}
