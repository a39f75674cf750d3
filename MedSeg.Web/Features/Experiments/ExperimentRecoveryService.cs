using System.Diagnostics;
using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// Resumes runs whose process died, from their last checkpoint: a Running experiment whose lease is stale (no heartbeat
/// for <see cref="JobsOptions.StaleAfterSeconds"/>) or held by a dead process of this machine, and an Interrupted one
/// (the app shut down mid-run). Claims each with a conditional update so that one node queues it again (in the fair
/// training queue, at its old place in its owner's line). A Running one
/// whose process died counts as a restart (<see cref="Experiment.Restarts"/>, the same count as a crashed child's): past
/// <see cref="JobsOptions.MaxRestarts"/> it is Failed instead, so a run that kills whatever runs it never loops.
/// </summary>
public sealed class ExperimentRecoveryService(IServiceScopeFactory scopes, RunningExperiments running, IOptions<JobsOptions> options,
    ILogger<ExperimentRecoveryService> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunServer) return;
        await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RecoverAsync(stoppingToken);
                await RecoverPredictionsAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Recovery check failed");
            }
            await Task.Delay(Interval, stoppingToken);
        }
    }

    public async Task<int> RecoverAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var stale = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(options.Value.StaleAfterSeconds);
        var candidates = await db.Experiments.AsNoTracking()
            .Where(e => e.Status == ExperimentStatus.Running || e.Status == ExperimentStatus.Interrupted)
            .Select(e => new { e.Id, e.Status, e.RunnerId, e.HeartbeatAt, e.Restarts, e.Error })
            .ToListAsync(ct);
        var recovered = 0;
        foreach (var c in candidates)
        {
            if (running.IsRunningHere(c.Id)) continue;
            var dead = c.Status == ExperimentStatus.Interrupted && c.RunnerId is null
                || c.HeartbeatAt is null || c.HeartbeatAt < stale || IsDeadLocalRunner(c.RunnerId);
            if (!dead) continue;
            // A graceful shutdown (Interrupted) is no crash; a Running run whose process vanished is.
            var crashed = c.Status == ExperimentStatus.Running;
            if (crashed && c.Restarts >= options.Value.MaxRestarts)
            {
                var reason = $"The process running this experiment stopped {c.Restarts + 1} times (the last time without a word: " +
                    "the server or its worker was killed, most often for lack of memory), so it is not started again. " +
                    TrainExperimentJob.ResourceHint;
                var failed = await db.Experiments
                    .Where(e => e.Id == c.Id && e.Status == c.Status && e.RunnerId == c.RunnerId && e.HeartbeatAt == c.HeartbeatAt)
                    .ExecuteUpdateAsync(s => s
                        .SetProperty(e => e.Status, ExperimentStatus.Failed)
                        .SetProperty(e => e.RunnerId, (string?)null)
                        .SetProperty(e => e.FinishedAt, DateTimeOffset.UtcNow)
                        .SetProperty(e => e.Error, reason), ct);
                if (failed == 1)
                {
                    logger.LogWarning("Experiment {Id} is Failed: its process died {Count} times", c.Id, c.Restarts + 1);
                    await scope.ServiceProvider.GetRequiredService<IExperimentNotifier>()
                        .StatusChangedAsync(new StatusChangedMessage(c.Id, ExperimentStatus.Failed, reason));
                    await scope.ServiceProvider.GetRequiredService<Notifications.NotificationService>().RunEndedAsync(c.Id, ExperimentStatus.Failed, reason);
                }
                continue;
            }
            var claimed = await db.Experiments
                .Where(e => e.Id == c.Id && e.Status == c.Status && e.RunnerId == c.RunnerId && e.HeartbeatAt == c.HeartbeatAt)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(e => e.Status, ExperimentStatus.Queued)
                    .SetProperty(e => e.RunnerId, (string?)null)
                    .SetProperty(e => e.Restarts, e => crashed ? e.Restarts + 1 : e.Restarts)
                    .SetProperty(e => e.Error, crashed
                        ? $"Resuming from the last checkpoint after the process running it stopped (restart {c.Restarts + 1} of {options.Value.MaxRestarts})."
                        : "Resuming from the last checkpoint after a shutdown."), ct);
            if (claimed != 1) continue;
            var experiment = await db.Experiments.FirstAsync(e => e.Id == c.Id, ct);
            await scope.ServiceProvider.GetRequiredService<ExperimentService>().EnqueueAsync(db, experiment, ct, keepPlace: true);
            logger.LogWarning("Experiment {Id} ({Status}, runner {Runner}) is resumed from its last checkpoint", c.Id, c.Status, c.RunnerId);
            recovered++;
        }
        return recovered;
    }

    /// <summary>Prediction runs whose process died (a Running status file with a stale heartbeat or a dead local runner) or
    /// that a shutdown interrupted are enqueued again; one that died <see cref="JobsOptions.MaxRestarts"/> times is Failed.
    /// (Their state is a status file, not a row: on several nodes, two may enqueue the same run; the job's own lease check
    /// lets only one of them predict.)</summary>
    public async Task<int> RecoverPredictionsAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var files = scope.ServiceProvider.GetRequiredService<Predictions.PredictionRunFiles>();
        var jobs = scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>();
        var completed = await db.Experiments.AsNoTracking().Where(e => e.Status == ExperimentStatus.Completed).Select(e => e.Id).ToListAsync(ct);
        var recovered = 0;
        foreach (var experimentId in completed)
        {
            foreach (var run in files.ReadAll(experimentId))
            {
                var died = run.Status == Predictions.PredictionRunStatus.Running
                    && (Predictions.PredictJob.IsStale(run, options.Value) || run.Runner != running.RunnerId && IsDeadLocalRunner(run.Runner));
                if (run.Status != Predictions.PredictionRunStatus.Interrupted && !died) continue;
                var dir = files.RunDirectory(experimentId, run.Id);
                if (died && run.Restarts >= options.Value.MaxRestarts)
                {
                    Predictions.PredictJob.Update(dir, s => s with
                    {
                        Status = Predictions.PredictionRunStatus.Failed, Runner = null, Finished = DateTime.UtcNow,
                        Error = $"The process running this prediction stopped {run.Restarts + 1} times, so it is not started again. {TrainExperimentJob.ResourceHint}",
                    });
                    continue;
                }
                Predictions.PredictJob.Update(dir, s => s with
                {
                    Status = Predictions.PredictionRunStatus.Queued, Runner = null, Restarts = died ? s.Restarts + 1 : s.Restarts,
                    Error = "Starting again after the process running it stopped.",
                });
                jobs.Enqueue<Predictions.PredictJob>(j => j.RunAsync(experimentId, run.Id, CancellationToken.None)); // its own queue ([Queue])
                logger.LogWarning("Prediction run {Run} of experiment {Experiment} ({Status}) is started again", run.Id, experimentId, run.Status);
                recovered++;
            }
        }
        return recovered;
    }

    /// <summary>True when the lease names a process of this machine that no longer runs (or an earlier life of this one).</summary>
    private bool IsDeadLocalRunner(string? runnerId)
    {
        if (runnerId is null) return true;
        var parts = runnerId.Split(':');
        if (parts.Length != 3 || RunningExperiments.MachineOf(runnerId) != JobQueues.SafeName(Environment.MachineName) && parts[0] != Environment.MachineName
            || !int.TryParse(parts[1], out var pid)) return false;
        if (runnerId == running.RunnerId) return false;
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}
