using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// Hangfire job: trains one experiment through the engine, then predicts and scores its validation cases.
/// The experiment's lease (RunnerId + HeartbeatAt) guarantees one execution at a time, whatever Hangfire re-fetches.
/// </summary>
public sealed class TrainExperimentJob(MedSegDbContext db, ArtifactStore store, IExperimentNotifier notifier,
    RunningExperiments running, IServiceScopeFactory scopes, IOptions<TrainingOptions> training, IOptions<JobsOptions> jobsOptions,
    ILogger<TrainExperimentJob> logger)
{
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

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
        if (!await TryAcquireLeaseAsync(experimentId, cancellationToken))
        {
            logger.LogWarning("Experiment {Id} is already running elsewhere; this job exits", experimentId);
            return;
        }

        using var cts = running.Register(experimentId, cancellationToken);
        using var heartbeat = new Timer(_ => _ = HeartbeatAsync(experimentId), null, HeartbeatInterval, HeartbeatInterval);
        try
        {
            await notifier.StatusChangedAsync(new StatusChangedMessage(experimentId, ExperimentStatus.Running, null));
            var config = ExperimentConfig.Parse(experiment.ConfigJson);
            var plan = await BuildPlanAsync(experiment, config, cancellationToken);
            var outcome = await TrainAsync(experiment, plan, cts.Token);
            logger.LogInformation("Experiment {Id} trained ({Reason}): best Dice {Dice:F4} at epoch {Epoch}",
                experimentId, outcome.StopReason, outcome.BestValidationDice, outcome.BestEpoch);
            await EvaluateAsync(experiment, plan, cts.Token);
            await FinishAsync(experimentId, ExperimentStatus.Completed, CompletionNote(outcome, experiment.Epochs, config));
        }
        catch (OperationCanceledException)
        {
            // Cancelled by the user (status already Cancelled), or the app is shutting down: then the run is resumed
            // from its last checkpoint at the next start.
            var status = await db.Experiments.Where(e => e.Id == experimentId).Select(e => e.Status).FirstAsync(CancellationToken.None);
            if (status == ExperimentStatus.Cancelled)
            {
                await ReleaseLeaseAsync(experimentId, null);
            }
            else
            {
                await FinishAsync(experimentId, ExperimentStatus.Interrupted, "Interrupted by a shutdown; it resumes from its last checkpoint.");
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "Experiment {Id} failed", experimentId);
            await FinishAsync(experimentId, ExperimentStatus.Failed, e is TrainingFailedException or ArgumentException ? e.Message : $"{e.GetType().Name}: {e.Message}");
        }
        finally
        {
            running.Unregister(experimentId);
        }
    }

    /// <summary>Trains, unless the time budget was already spent by earlier runs of this experiment (the app stopped
    /// between the budget's last epoch and the evaluation): then the last checkpoint stands as it is.</summary>
    private async Task<TrainingResult> TrainAsync(Experiment experiment, TrainingPlan plan, CancellationToken ct)
    {
        if (plan.TimeBudget is { } left && left <= TimeSpan.Zero && Checkpoints.ReadState(plan.RunDirectory, "last") is { } state)
        {
            logger.LogInformation("Experiment {Id} spent its time budget before this run; its checkpoint of epoch {Epoch} is evaluated",
                experiment.Id, state.Epoch);
            return new TrainingResult(state.Epoch, state.BestEpoch, state.BestValidationDice, Checkpoints.Weights(plan.RunDirectory, "best"),
                Checkpoints.Weights(plan.RunDirectory, "last"))
            {
                StopReason = state.StopReason ?? (state.Epoch < plan.Epochs ? StopReason.TimeBudget : StopReason.Completed),
            };
        }
        // Spent, but no checkpoint to stand on (its folder was lost): one epoch, then the budget stops it.
        if (plan.TimeBudget is { } budget && budget <= TimeSpan.Zero) plan = plan with { TimeBudget = TimeSpan.FromTicks(1) };
        var observer = new JobTrainingObserver(experiment.Id, experiment.DatasetId, experiment.Epochs, notifier, scopes, logger);
        await observer.LoadPreviewCasesAsync(db, ct);
        return await new Trainer().RunAsync(plan, observer, ct);
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
        TrainingCase ToCase(ExperimentCase c) => new(c.DatasetCase!.Name,
            ArtifactStore.Resolve(folder, c.DatasetCase.ImagePath), ArtifactStore.Resolve(folder, c.DatasetCase.MaskPath));
        var ordered = cases.OrderBy(c => c.DatasetCase!.Name, StringComparer.Ordinal).ToList();
        var plan = config.ApplyTo(new TrainingPlan
        {
            Model = experiment.Model,
            ModelOptions = new ModelOptions(InChannels: 3, Classes: 1),
            Epochs = experiment.Epochs,
            BatchSize = experiment.BatchSize,
            ImageSize = experiment.ImageSize,
            LearningRate = experiment.LearningRate,
            Seed = experiment.Seed,
            Train = [.. ordered.Where(c => c.Split == CaseSplit.Train).Select(ToCase)],
            Validation = [.. ordered.Where(c => c.Split == CaseSplit.Validation).Select(ToCase)],
            PreviewCases = [.. ordered.Where(c => c.IsPreview).Select(c => c.DatasetCase!.Name)],
            RunDirectory = store.ExperimentDirectory(experiment.Id),
            Device = training.Value.Device,
            Threads = training.Value.Threads > 0 ? training.Value.Threads : null,
        });
        if (plan.TimeBudget is { } budget)
        {
            var spent = await db.EpochMetrics.Where(m => m.ExperimentId == experiment.Id).Select(m => m.Seconds).ToListAsync(ct);
            plan = plan with { TimeBudget = budget - TimeSpan.FromSeconds(spent.Sum()) };
        }
        return plan;
    }

    private async Task EvaluateAsync(Experiment experiment, TrainingPlan plan, CancellationToken ct)
    {
        var output = Path.Combine(plan.RunDirectory, "predictions");
        var predictions = await Task.Run(() =>
        {
            using var predictor = Predictor.Load(plan.RunDirectory, plan.Device);
            return predictor.Evaluate(plan.Validation, output, ct);
        }, ct);
        var byName = predictions.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var rows = await db.ExperimentCases.Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == experiment.Id && c.Split == CaseSplit.Validation).ToListAsync(ct);
        foreach (var row in rows)
        {
            if (!byName.TryGetValue(row.DatasetCase!.Name, out var p)) continue;
            row.Dice = p.Dice;
            row.IoU = p.IoU;
            row.Precision = p.Precision;
            row.Recall = p.Recall;
            row.PredictionPath = Path.GetRelativePath(plan.RunDirectory, p.PredictionPath).Replace('\\', '/');
        }
        await db.SaveChangesAsync(ct);
    }

    private async Task<bool> TryAcquireLeaseAsync(Guid id, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var stale = now - TimeSpan.FromSeconds(jobsOptions.Value.StaleAfterSeconds);
        var me = running.RunnerId;
        var updated = await db.Experiments
            .Where(e => e.Id == id && (e.RunnerId == null || e.RunnerId == me || e.HeartbeatAt == null || e.HeartbeatAt < stale))
            .ExecuteUpdateAsync(s => s
                .SetProperty(e => e.RunnerId, me)
                .SetProperty(e => e.HeartbeatAt, now)
                .SetProperty(e => e.Status, ExperimentStatus.Running)
                .SetProperty(e => e.Error, (string?)null)
                .SetProperty(e => e.StartedAt, e => e.StartedAt ?? now), ct);
        return updated == 1;
    }

    private async Task HeartbeatAsync(Guid id)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var context = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var now = DateTimeOffset.UtcNow;
            var me = running.RunnerId;
            await context.Experiments.Where(e => e.Id == id && e.RunnerId == me)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.HeartbeatAt, now));
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Heartbeat of experiment {Id} failed", id);
        }
    }

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

    private async Task FinishAsync(Guid id, ExperimentStatus status, string? message)
    {
        await ReleaseLeaseAsync(id, status, message);
        await notifier.StatusChangedAsync(new StatusChangedMessage(id, status, message));
    }
}
