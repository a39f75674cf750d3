using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
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
            var plan = await BuildPlanAsync(experiment, cancellationToken);
            var observer = new JobTrainingObserver(experimentId, experiment.DatasetId, experiment.Epochs, notifier, scopes, logger);
            await observer.LoadPreviewCasesAsync(db, cancellationToken);
            var result = await new Trainer().RunAsync(plan, observer, cts.Token);
            logger.LogInformation("Experiment {Id} trained ({Reason}): best Dice {Dice:F4} at epoch {Epoch}",
                experimentId, result.StopReason, result.BestValidationDice, result.BestEpoch);
            await EvaluateAsync(experiment, plan, cts.Token);
            await FinishAsync(experimentId, ExperimentStatus.Completed, null);
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

    private async Task<TrainingPlan> BuildPlanAsync(Experiment experiment, CancellationToken ct)
    {
        var cases = await db.ExperimentCases.AsNoTracking().Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == experiment.Id).ToListAsync(ct);
        var folder = store.DatasetDirectory(experiment.DatasetId);
        TrainingCase ToCase(ExperimentCase c) => new(c.DatasetCase!.Name,
            ArtifactStore.Resolve(folder, c.DatasetCase.ImagePath), ArtifactStore.Resolve(folder, c.DatasetCase.MaskPath));
        var ordered = cases.OrderBy(c => c.DatasetCase!.Name, StringComparer.Ordinal).ToList();
        var config = ExperimentConfig.Parse(experiment.ConfigJson);
        return config.ApplyTo(new TrainingPlan
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
