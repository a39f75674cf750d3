using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// Hangfire job: trains one experiment, then predicts and scores its validation cases, in a child process
/// (<c>medseg run-experiment</c>, <see cref="ChildSupervisor"/>): the web process never allocates a training tensor, and a
/// child that dies costs at most the epoch in progress. The job relays the child's events to the database and SignalR
/// (<see cref="JobTrainingObserver"/>), restarts a crashed child from its last checkpoint up to
/// <see cref="JobsOptions.MaxRestarts"/> times, then fails the run with the diagnosis and a hint.
/// The experiment's lease (RunnerId + HeartbeatAt) guarantees one execution at a time, whatever Hangfire re-fetches.
/// </summary>
public sealed class TrainExperimentJob(MedSegDbContext db, ArtifactStore store, IExperimentNotifier notifier,
    RunningExperiments running, IServiceScopeFactory scopes, IOptions<TrainingOptions> training, IOptions<JobsOptions> jobsOptions,
    Notifications.NotificationService notifications, ILogger<TrainExperimentJob> logger)
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);
    public const string PlanFile = "child-plan.json";
    internal const string ResourceHint = "Lower the batch size or the image size, or choose a smaller variant, then launch again.";

    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("Train experiment {0}")]
    public async Task RunAsync(Guid experimentId, CancellationToken cancellationToken)
    {
        var experiment = await db.Experiments.AsNoTracking().FirstOrDefaultAsync(e => e.Id == experimentId, cancellationToken);
        if (experiment is null || experiment.Status is ExperimentStatus.Completed or ExperimentStatus.Cancelled or ExperimentStatus.Failed)
        {
            logger.LogInformation("Experiment {Id} needs no run ({Status})", experimentId, experiment?.Status);
            return;
        }
        // A second execution in this process (a re-fetch, the dashboard's Requeue, Cancel then Resume while the first
        // still stops) leaves the run alone; across processes the lease decides.
        var run = running.TryRegister(experimentId, cancellationToken);
        if (run is null)
        {
            logger.LogWarning("Experiment {Id} is already running in this process; this job exits", experimentId);
            return;
        }
        try
        {
            if (!await TryAcquireLeaseAsync(experimentId, cancellationToken))
            {
                logger.LogWarning("Experiment {Id} is running elsewhere or was cancelled; this job exits", experimentId);
                return;
            }
            await using var heartbeat = new Timer(_ => _ = HeartbeatAsync(experimentId, run), null, HeartbeatInterval, HeartbeatInterval);
            await RunLeasedAsync(experiment, run);
        }
        finally
        {
            running.Unregister(experimentId, run);
        }
    }

    private async Task RunLeasedAsync(Experiment experiment, RunningExperiments.Run run)
    {
        var id = experiment.Id;
        try
        {
            await notifier.StatusChangedAsync(new StatusChangedMessage(id, ExperimentStatus.Running, null));
            var config = ExperimentConfig.Of(experiment);
            var plan = await BuildPlanAsync(experiment, config, run.Token);
            // Leaderboard members are measured by the child after their evaluation (size, batch-1 latency, HD95).
            var profile = experiment.GroupId is { } groupId
                && await db.ExperimentGroups.AnyAsync(g => g.Id == groupId && g.Kind == Leaderboards.LeaderboardService.Kind, run.Token);
            var child = ChildPlanFor(plan) with { Profile = profile };
            long peak = 0;
            var planPath = Path.Combine(plan.RunDirectory, PlanFile);
            child.Write(planPath);
            var observer = new JobTrainingObserver(id, config.Epochs, notifier, scopes, logger, plan.RunDirectory);
            await observer.LoadPreviewCasesAsync(db, run.Token);
            var jobs = jobsOptions.Value;
            var limits = jobs.ChildLimits;
            var start = jobs.Child(ChildCommands.RunExperiment, planPath, "training process");
            while (true)
            {
                var outcome = await ChildSupervisor.RunAsync(start, limits, e => ChildProtocol.Replay(e, observer),
                    line => logger.LogDebug("Experiment {Id} child: {Line}", id, line), run.Token);
                peak = Math.Max(peak, outcome.PeakResidentBytes);
                if (run.LeaseLost)
                {
                    logger.LogWarning("Experiment {Id} lost its lease (another process owns it now); this job leaves it", id);
                    return;
                }
                switch (outcome.End)
                {
                    case ChildEnd.Finished:
                        var result = outcome.Finished!.Result!;
                        logger.LogInformation("Experiment {Id} trained ({Reason}): best Dice {Dice:F4} at epoch {Epoch}; child peaked at {Peak} MiB",
                            id, result.StopReason, result.BestValidationDice, result.BestEpoch, outcome.PeakResidentBytes >> 20);
                        await StoreEvaluationAsync(id, plan, outcome.Finished.Evaluated ?? []);
                        if (profile) await StoreProfileAsync(id, outcome.Finished, peak);
                        if (outcome.Finished.Volumes is { Count: > 0 } volumes)
                            logger.LogInformation("Experiment {Id}: {Volumes} validation volumes scored whole (predictions/{File}), mean Dice {Dice:F4}",
                                id, volumes.Count, VolumeReport.FileName, volumes.Average(v => v.Dice.Average()));
                        await FinishAsync(id, ExperimentStatus.Completed, CompletionNote(result, config.Epochs, config), result.StopReason != StopReason.Completed);
                        return;
                    case ChildEnd.Cancelled:
                        await StoppedAsync(id);
                        return;
                }
                var restarts = await db.Experiments.Where(e => e.Id == id).Select(e => e.Restarts).FirstAsync(CancellationToken.None);
                logger.LogWarning("Experiment {Id}: {Reason} (exit code {Code}, peak {Peak} MiB)", id, outcome.Reason, outcome.ExitCode,
                    outcome.PeakResidentBytes >> 20);
                if (!outcome.Retryable || restarts >= jobs.MaxRestarts)
                {
                    await FinishAsync(id, ExperimentStatus.Failed, FailureMessage(outcome, restarts));
                    return;
                }
                if (!await CountRestartAsync(id))
                {
                    return; // the lease went to another process meanwhile
                }
                var note = ServerPaths.Redact($"{outcome.Reason} Restarting from the last checkpoint (restart {restarts + 1} of {jobs.MaxRestarts}).", store.Root);
                await db.Experiments.Where(e => e.Id == id && e.RunnerId == running.RunnerId)
                    .ExecuteUpdateAsync(u => u.SetProperty(e => e.Error, note), CancellationToken.None);
                RunLog.Append(plan.RunDirectory, "warning: " + note);
                await notifier.StatusChangedAsync(new StatusChangedMessage(id, ExperimentStatus.Running, note));
            }
        }
        catch (OperationCanceledException) when (run.Token.IsCancellationRequested)
        {
            if (!run.LeaseLost) await StoppedAsync(id);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Experiment {Id} failed", id);
            await FinishAsync(id, ExperimentStatus.Failed, e is TrainingFailedException or ArgumentException ? e.Message : $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The child stopped on a cancel: by the user (status already Cancelled), or the app is shutting down, and then
    /// the run resumes from its last checkpoint at the next start.</summary>
    private async Task StoppedAsync(Guid id)
    {
        var status = await db.Experiments.Where(e => e.Id == id).Select(e => e.Status).FirstAsync(CancellationToken.None);
        if (status == ExperimentStatus.Cancelled)
        {
            await ReleaseLeaseAsync(id, null);
        }
        else
        {
            await FinishAsync(id, ExperimentStatus.Interrupted, "Interrupted by a shutdown; it resumes from its last checkpoint.");
        }
    }

    /// <summary>The message of a run that ends Failed: the diagnosis, the automatic restarts it had, and what to change.</summary>
    internal static string FailureMessage(ChildOutcome outcome, int restarts)
    {
        var after = restarts > 0 ? $" It failed again after {restarts} automatic restart(s) from its last checkpoint." : "";
        return outcome.SuggestsSmallerRun ? $"{outcome.Reason}{after} {ResourceHint}" : $"{outcome.Reason}{after}";
    }

    /// <summary>The child's plan: train and evaluate, or only evaluate when the time budget was already spent by earlier
    /// runs of this experiment (the app stopped between the budget's last epoch and the evaluation).</summary>
    private TrainingChildPlan ChildPlanFor(TrainingPlan plan)
    {
        var evaluation = Path.Combine(plan.RunDirectory, "predictions");
        if (plan.TimeBudget is { } left && left <= TimeSpan.Zero)
        {
            if (Checkpoints.ReadState(plan.RunDirectory, "last") is not null) return new TrainingChildPlan(plan, evaluation, EvaluateOnly: true);
            // Spent, but no checkpoint to stand on (its folder was lost): one epoch, then the budget stops it.
            plan = plan with { TimeBudget = TimeSpan.FromTicks(1) };
        }
        return new TrainingChildPlan(plan, evaluation);
    }

    /// <summary>What a completed experiment says about training that ended before its last epoch; null when all epochs ran.</summary>
    internal static string? CompletionNote(TrainingResult result, int epochs, ExperimentConfig config) => result.StopReason switch
    {
        StopReason.TimeBudget =>
            $"Training stopped at the time budget of {Format.Hours(config.TimeBudgetHours)} after epoch {result.EpochsCompleted} " +
            $"of {epochs}; the best checkpoint (epoch {result.BestEpoch}) was evaluated. Launch a new experiment with a larger budget to train longer.",
        StopReason.EarlyStopped =>
            $"Training stopped early after epoch {result.EpochsCompleted} of {epochs}: no validation Dice gain for " +
            $"{config.EarlyStoppingPatience} epoch(s); the best checkpoint (epoch {result.BestEpoch}) was evaluated.",
        _ => null,
    };

    /// <summary>The experiment's plan. A time budget counts training over the whole experiment: the seconds of the epochs
    /// stored by earlier runs (before a restart, a cancel or a failure) are taken off it.</summary>
    private async Task<TrainingPlan> BuildPlanAsync(Experiment experiment, ExperimentConfig config, CancellationToken ct)
    {
        var cases = await db.ExperimentCases.AsNoTracking().Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == experiment.Id).ToListAsync(ct);
        var folder = store.DatasetDirectory(experiment.DatasetId);
        var volumes = await VolumeCasesAsync(experiment.DatasetId, folder, cases, ct);
        TrainingCase ToCase(ExperimentCase c) => new(c.DatasetCase!.Name,
            ArtifactStore.Resolve(folder, c.DatasetCase.ImagePath), ArtifactStore.Resolve(folder, c.DatasetCase.MaskPath))
        {
            Volume = volumes(c.DatasetCase),
            RowSpacing = c.DatasetCase.SpacingY,
            ColumnSpacing = c.DatasetCase.SpacingX,
        };
        var ordered = cases.OrderBy(c => c.DatasetCase!.Name, StringComparer.Ordinal).ToList();
        // The snapshot is the plan: model, options (variant, deep supervision, channels, classes) and every training option.
        var plan = config.ToPlan(
            [.. ordered.Where(c => c.Split == CaseSplit.Train).Select(ToCase)],
            [.. ordered.Where(c => c.Split == CaseSplit.Validation).Select(ToCase)],
            store.ExperimentDirectory(experiment.Id)) with
        {
            PreviewCases = [.. ordered.Where(c => c.IsPreview).Select(c => c.DatasetCase!.Name)],
            Device = config.Device ?? training.Value.Device,
            Threads = training.Value.Threads > 0 ? training.Value.Threads : null,
            PretrainedWeights = await PretrainedAsync(config.Weights, ct),
        };
        if (plan.TimeBudget is { } budget)
        {
            var spent = await db.EpochMetrics.Where(m => m.ExperimentId == experiment.Id).Select(m => m.Seconds).ToListAsync(ct);
            plan = plan with { TimeBudget = budget - TimeSpan.FromSeconds(spent.Sum()) };
        }
        return plan;
    }

    /// <summary>The library file of the snapshot's weights. A file deleted since the launch keeps its stored path, so that a fresh
    /// start fails naming it instead of training from scratch unnoticed (a resume does not read it).</summary>
    private async Task<PretrainedWeightsSource?> PretrainedAsync(WeightsRef? weights, CancellationToken ct)
    {
        if (weights is null) return null;
        var stored = await db.WeightsFiles.Where(w => w.Id == weights.Id).Select(w => w.StoredPath).FirstOrDefaultAsync(ct);
        return new PretrainedWeightsSource(ArtifactStore.Resolve(store.Root, stored ?? $"weights/{weights.Id:N} ({weights.Name}, deleted from the library)"));
    }

    /// <summary>Where each slice of a volume dataset sits (<see cref="CaseVolume"/>: group key, slice index, the case's spacing,
    /// and the slice spacing of the original under volumes/, when the import kept it; without it HD95 is not computed).</summary>
    private async Task<Func<DatasetCase, CaseVolume?>> VolumeCasesAsync(Guid datasetId, string folder, List<ExperimentCase> cases, CancellationToken ct)
    {
        if (!cases.Any(c => c.DatasetCase!.SliceIndex is not null)) return _ => null;
        var source = await db.Datasets.Where(d => d.Id == datasetId).Select(d => d.SourceJson).FirstOrDefaultAsync(ct);
        var axis = VolumeOriginals.Axis(source);
        var sliceSpacing = new Dictionary<string, double?>(StringComparer.Ordinal);
        double? SliceSpacing(string id)
        {
            if (!sliceSpacing.TryGetValue(id, out var s))
                sliceSpacing[id] = s = VolumeOriginals.Header(folder, id) is { } h ? VolumeOriginals.SliceSpacing(h, axis) : null;
            return s;
        }
        return c => c is { SliceIndex: int slice, GroupKey: { } id }
            ? new CaseVolume(id, slice, c.SpacingY, c.SpacingX, SliceSpacing(id))
            : null;
    }

    private async Task StoreEvaluationAsync(Guid id, TrainingPlan plan, IReadOnlyList<CasePrediction> predictions)
    {
        var byName = predictions.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var rows = await db.ExperimentCases.Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == id && c.Split == CaseSplit.Validation).ToListAsync(CancellationToken.None);
        foreach (var row in rows)
        {
            if (!byName.TryGetValue(row.DatasetCase!.Name, out var p)) continue;
            row.Dice = p.Dice;
            row.IoU = p.IoU;
            row.Precision = p.Precision;
            row.Recall = p.Recall;
            row.ClassDiceJson = ClassDice.Serialize(p.ClassDice);
            row.Hd95 = p.Hd95;
            row.Assd = p.Assd;
            row.Hd95Mm = p.Hd95Mm;
            row.AssdMm = p.AssdMm;
            row.FalsePositives = p.Fp;
            row.FalseNegatives = p.Fn;
            row.ClassMetricsJson = ClassMetrics.Serialize(p.Classes);
            row.PredictionPath = Path.GetRelativePath(plan.RunDirectory, p.PredictionPath).Replace('\\', '/');
        }
        await db.SaveChangesAsync(CancellationToken.None);
    }

    /// <summary>Stores (or replaces) the run's measurement from the child's finished event, with its peak memory.</summary>
    private async Task StoreProfileAsync(Guid id, ChildEvent finished, long peakBytes)
    {
        var p = finished.Profile;
        if (p is null) logger.LogWarning("Experiment {Id}: no measurement ({Error})", id, finished.ProfileError);
        await db.ExperimentProfiles.Where(x => x.ExperimentId == id).ExecuteDeleteAsync(CancellationToken.None);
        db.ExperimentProfiles.Add(new ExperimentProfile
        {
            ExperimentId = id,
            Parameters = p?.Parameters,
            Macs = p?.Macs,
            ImageSize = p?.ImageSize ?? 0,
            LatencyMs = p?.LatencyMs,
            Device = p?.Device,
            Hd95 = finished.Evaluated is { } evaluated ? RunProfile.Hd95(evaluated) : null,
            PeakMemoryBytes = peakBytes > 0 ? peakBytes : null,
            Error = p is null ? Truncate(ServerPaths.Redact(finished.ProfileError ?? "the training process sent no measurement", store.Root)!, 2000) : null,
        });
        await db.SaveChangesAsync(CancellationToken.None);
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    private async Task<bool> TryAcquireLeaseAsync(Guid id, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var stale = now - TimeSpan.FromSeconds(jobsOptions.Value.StaleAfterSeconds);
        var me = running.RunnerId;
        var updated = await db.Experiments
            // Cancel sticks: a job that starts after a cancel (or after the run ended) does not set it back to Running.
            .Where(e => e.Id == id
                && (e.Status == ExperimentStatus.Queued || e.Status == ExperimentStatus.Running || e.Status == ExperimentStatus.Interrupted)
                && (e.RunnerId == null || e.RunnerId == me || e.HeartbeatAt == null || e.HeartbeatAt < stale))
            .ExecuteUpdateAsync(s => s
                .SetProperty(e => e.RunnerId, me)
                .SetProperty(e => e.HeartbeatAt, now)
                .SetProperty(e => e.Status, ExperimentStatus.Running)
                .SetProperty(e => e.Error, (string?)null)
                .SetProperty(e => e.StartedAt, e => e.StartedAt ?? now), ct);
        return updated == 1;
    }

    /// <summary>Refreshes the lease. An update of 0 rows means another process took the run over (its heartbeat looked
    /// stale): this runner stops its child and leaves the run alone.</summary>
    private async Task HeartbeatAsync(Guid id, RunningExperiments.Run run)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var context = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var now = DateTimeOffset.UtcNow;
            var me = running.RunnerId;
            var updated = await context.Experiments.Where(e => e.Id == id && e.RunnerId == me)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.HeartbeatAt, now));
            if (updated == 0 && !run.Token.IsCancellationRequested)
            {
                logger.LogWarning("Experiment {Id}: the heartbeat found the lease gone; stopping this runner", id);
                run.LoseLease();
            }
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Heartbeat of experiment {Id} failed", id);
        }
    }

    /// <summary>Counts a restart of a crashed child, while this runner still holds the lease.</summary>
    private async Task<bool> CountRestartAsync(Guid id) =>
        await db.Experiments.Where(e => e.Id == id && e.RunnerId == running.RunnerId)
            .ExecuteUpdateAsync(u => u.SetProperty(e => e.Restarts, e => e.Restarts + 1), CancellationToken.None) == 1;

    private async Task ReleaseLeaseAsync(Guid id, ExperimentStatus? status, string? message = null)
    {
        var me = running.RunnerId;
        var now = DateTimeOffset.UtcNow;
        if (status is { } s)
        {
            await db.Experiments.Where(e => e.Id == id && e.RunnerId == me).ExecuteUpdateAsync(u => u
                .SetProperty(e => e.RunnerId, (string?)null)
                .SetProperty(e => e.Status, s)
                .SetProperty(e => e.Error, message)
                .SetProperty(e => e.FinishedAt, s == ExperimentStatus.Interrupted ? null : now), CancellationToken.None);
        }
        else
        {
            await db.Experiments.Where(e => e.Id == id && e.RunnerId == me)
                .ExecuteUpdateAsync(u => u.SetProperty(e => e.RunnerId, (string?)null), CancellationToken.None);
        }
    }

    /// <param name="stoppedEarly">A Completed run whose training the time budget or early stopping ended.</param>
    private async Task FinishAsync(Guid id, ExperimentStatus status, string? message, bool stoppedEarly = false)
    {
        // Stored and shown to users: exception messages and the child's stderr may name server paths (the log keeps them).
        message = ServerPaths.Redact(message, store.Root);
        RunLog.Append(store.ExperimentDirectory(id), status.ToString().ToLowerInvariant() + (message is null ? "" : ": " + message));
        await ReleaseLeaseAsync(id, status, message);
        await notifier.StatusChangedAsync(new StatusChangedMessage(id, status, message));
        await notifications.RunEndedAsync(id, status, message, stoppedEarly);
    }
}
