using System.Data.Common;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Deletion;

/// <summary>
/// Deletes datasets, experiments and prediction runs (their owner or an admin), with their files and rendition caches.
/// Crash safety, "no row without files, and no files without a row after start-up": the rows go first, in one transaction;
/// then each folder is moved into <c>trash/</c> with one rename and deleted from there. A process that dies after the commit
/// leaves folders without a row, or folders in the trash: <see cref="StorageReconciler"/> removes both at the next start.
/// A queued or running experiment is cancelled first and its folder is touched only once its child has stopped (the run left
/// <see cref="RunningExperiments"/> and its lease is released or stale); until then the delete is refused as still stopping.
/// Prediction runs cannot be cancelled yet, so one that is queued or running (with a live heartbeat) is refused.
/// </summary>
public sealed class DeletionService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, PredictionRunFiles runs,
    ExperimentService experiments, RunningExperiments running, IOptions<JobsOptions> jobsOptions, AuditLog audit, QuotaService quotas,
    ILogger<DeletionService> logger)
{
    /// <summary>How long past <see cref="JobsOptions.CancelGraceSeconds"/> a delete waits for a cancelled child to stop.</summary>
    public static readonly TimeSpan StopMargin = TimeSpan.FromSeconds(5);
    /// <summary>Most experiments a refusal names one by one; the rest are counted.</summary>
    public const int MaxNamed = 10;

    private sealed record ExperimentRow(Guid Id, string Name, string OwnerId, ExperimentStatus Status);

    public async Task<DatasetDeletePlan?> PlanDatasetAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await Access.Datasets(db, user).AsNoTracking().Where(d => d.Id == id)
            .Select(d => new { d.Id, d.Name, d.CaseCount }).FirstOrDefaultAsync(ct);
        if (dataset is null) return null;
        var (all, visible) = await UsersOfAsync(db, id, user, ct);
        var named = all.Where(e => visible.Contains(e.Id)).ToList();
        var bytes = await Task.Run(() => (ArtifactStore.SizeOf(store.DatasetDirectory(id)),
            named.Sum(e => ArtifactStore.SizeOf(store.ExperimentDirectory(e.Id)))), ct);
        return new DatasetDeletePlan(id, dataset.Name, dataset.CaseCount, bytes.Item1, [.. named.Select(Ref)], bytes.Item2,
            all.Count - named.Count, [.. named.Where(e => !user.CanManage(e.OwnerId)).Select(Ref)]);
    }

    public async Task<ExperimentDeletePlan?> PlanExperimentAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await ExperimentAsync(db, id, user, ct);
        if (e is null) return null;
        var bytes = await Task.Run(() => ArtifactStore.SizeOf(store.ExperimentDirectory(id)), ct);
        return new ExperimentDeletePlan(id, e.Name, e.Status.ToString(), IsActive(e.Status), runs.ReadAll(id).Count, bytes);
    }

    public async Task<PredictionRunDeletePlan?> PlanPredictionRunAsync(Guid experimentId, Guid runId, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await ExperimentAsync(db, experimentId, user, ct) is not { } e || runs.Read(experimentId, runId) is not { } run
            || !CanSeeRun(e, run, user)) return null;
        var bytes = await Task.Run(() => ArtifactStore.SizeOf(runs.RunDirectory(experimentId, runId)), ct);
        return new PredictionRunDeletePlan(experimentId, runId, run.Images.Count, InProgress(run), bytes);
    }

    /// <summary>Deletes a dataset; one that experiments use is refused naming them, unless <paramref name="withExperiments"/>,
    /// which deletes them too when the user may delete every one of them.</summary>
    public async Task<DeleteOutcome> DeleteDatasetAsync(Guid id, bool withExperiments, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await Access.Datasets(db, user).AsNoTracking().Where(d => d.Id == id)
            .Select(d => new { d.Id, d.Name, d.OwnerId, d.CaseCount }).FirstOrDefaultAsync(ct);
        if (dataset is null) return new DeleteOutcome.NotFound();
        if (!user.CanManage(dataset.OwnerId)) return new DeleteOutcome.Forbidden(ReadOnly("dataset"));
        var (all, visible) = await UsersOfAsync(db, id, user, ct);
        if (all.Count > 0)
        {
            var named = all.Where(e => visible.Contains(e.Id)).Select(Ref).ToList();
            var hidden = all.Count - named.Count;
            if (!withExperiments)
            {
                return new DeleteOutcome.Conflict("The dataset is in use",
                    $"{all.Count} experiment(s) use this dataset: {Names(named, hidden)}. Delete them first, or delete the dataset " +
                    "together with them (withExperiments=true). Nothing was deleted.", named);
            }
            var blocked = all.Where(e => visible.Contains(e.Id) && !user.CanManage(e.OwnerId)).Select(Ref).ToList();
            if (blocked.Count > 0 || hidden > 0)
            {
                return new DeleteOutcome.Conflict("Some experiments on this dataset are not yours to delete",
                    $"You may not delete {Names(blocked, hidden)}, which use this dataset; only their owners or an admin can. " +
                    "Nothing was deleted.", blocked);
            }
        }
        var outcome = await DeleteAsync(db, all, id, user, ct);
        if (outcome is DeleteOutcome.Done done)
        {
            await audit.WriteAsync(user, new AuditRecord(AuditActions.DatasetDelete, "dataset", id.ToString(),
                $"{dataset.Name}: {dataset.CaseCount} cases" + (all.Count > 0 ? $", with {all.Count} experiment(s)" : "") +
                $"; freed {Format.Bytes(done.Response.FreedBytes)} in all"), CancellationToken.None);
        }
        return outcome;
    }

    public async Task<DeleteOutcome> DeleteExperimentAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await ExperimentAsync(db, id, user, ct);
        if (e is null) return new DeleteOutcome.NotFound();
        if (!user.CanManage(e.OwnerId)) return new DeleteOutcome.Forbidden(ReadOnly("experiment"));
        return await DeleteAsync(db, [e], null, user, ct);
    }

    public async Task<DeleteOutcome> DeletePredictionRunAsync(Guid experimentId, Guid runId, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await ExperimentAsync(db, experimentId, user, ct) is not { } e || runs.Read(experimentId, runId) is not { } run
            || !CanSeeRun(e, run, user)) return new DeleteOutcome.NotFound();
        if (!Access.CanManageRun(e.OwnerId, run.CreatedBy, user))
        {
            return new DeleteOutcome.Forbidden("This prediction run is shared with you read-only; only whoever started it, the experiment's owner or an admin can delete it.");
        }
        if (InProgress(run))
        {
            return new DeleteOutcome.Conflict("The prediction is in progress",
                "This prediction run is queued or running, and prediction runs cannot be cancelled yet: delete it once it has finished. Nothing was deleted.", []);
        }
        var freed = Discard(runs.RunDirectory(experimentId, runId));
        quotas.Forget(e.OwnerId);
        logger.LogInformation("Prediction run {Run} of experiment {Experiment} deleted; {Bytes} bytes freed", runId, experimentId, freed);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.PredictionDelete, "prediction", runId.ToString(),
            $"run of experiment {e.Name} ({experimentId}): {run.Images.Count} images; freed {Format.Bytes(freed)}"), CancellationToken.None);
        return new DeleteOutcome.Done(new DeleteResponse(freed, new DeletedItems([], [], [runId])));
    }

    /// <summary>Stops the experiments, deletes their rows (and the dataset's, when given) in one transaction, then their folders.</summary>
    private async Task<DeleteOutcome> DeleteAsync(MedSegDbContext db, IReadOnlyList<ExperimentRow> doomed, Guid? datasetId, UserContext user,
        CancellationToken ct)
    {
        var predicting = doomed.Where(e => runs.ReadAll(e.Id).Any(InProgress)).Select(Ref).ToList();
        if (predicting.Count > 0)
        {
            return new DeleteOutcome.Conflict("A prediction is in progress",
                $"{Names(predicting, 0)} has a prediction run queued or running, and prediction runs cannot be cancelled yet: " +
                "delete it once the run has finished. Nothing was deleted.", predicting);
        }
        foreach (var e in doomed.Where(e => IsActive(e.Status)))
        {
            await experiments.CancelAsync(e.Id, user, ct);
        }
        var ids = doomed.Select(e => e.Id).ToList();
        if (!await WaitStoppedAsync(db, ids, ct))
        {
            return new DeleteOutcome.Conflict("Still stopping",
                "The training process is still stopping (it was cancelled just now); try again in a few seconds. Nothing was deleted.",
                [.. doomed.Select(Ref)]);
        }
        var runIds = ids.SelectMany(id => runs.ReadAll(id).Select(r => r.Id)).ToList();
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            try
            {
                await db.EpochMetrics.Where(m => ids.Contains(m.ExperimentId)).ExecuteDeleteAsync(ct);
                await db.ExperimentCases.Where(c => ids.Contains(c.ExperimentId)).ExecuteDeleteAsync(ct);
                await db.ExperimentProfiles.Where(p => ids.Contains(p.ExperimentId)).ExecuteDeleteAsync(ct);
                await db.Experiments.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(ct);
                await db.Shares.Where(s => s.Kind == ShareKind.Experiment && ids.Contains(s.ResourceId)).ExecuteDeleteAsync(ct);
                if (datasetId is { } id)
                {
                    // A launch on the dataset since the check: refuse rather than strand that experiment.
                    if (await db.Experiments.AnyAsync(e => e.DatasetId == id, ct))
                    {
                        await tx.RollbackAsync(CancellationToken.None);
                        return new DeleteOutcome.Conflict("The dataset is in use",
                            "An experiment was launched on this dataset just now; look again and retry. Nothing was deleted.", []);
                    }
                    await db.DatasetCases.Where(c => c.DatasetId == id).ExecuteDeleteAsync(ct);
                    await db.Datasets.Where(d => d.Id == id).ExecuteDeleteAsync(ct);
                    await db.Shares.Where(s => s.Kind == ShareKind.Dataset && s.ResourceId == id).ExecuteDeleteAsync(ct);
                }
                await tx.CommitAsync(ct);
            }
            catch (DbException e)
            {
                // On SQL Server a launch can slip in after the check; its foreign key then refuses the dataset's delete.
                logger.LogWarning(e, "Delete of dataset {Dataset} / experiments {Experiments} was rolled back", datasetId, ids);
                await tx.RollbackAsync(CancellationToken.None);
                return new DeleteOutcome.Conflict("The item changed meanwhile",
                    "Something changed while it was being deleted (an experiment was launched on it?); look again and retry. Nothing was deleted.", []);
            }
        }

        // The rows are gone: from here on nothing is cancelled half-way, and whatever fails is removed at the next start.
        long freed = 0;
        foreach (var e in doomed)
        {
            var bytes = Discard(store.ExperimentDirectory(e.Id));
            freed += bytes;
            quotas.Forget(e.OwnerId);
            logger.LogInformation("Experiment {Id} '{Name}' deleted; {Bytes} bytes freed", e.Id, e.Name, bytes);
            await audit.WriteAsync(user, new AuditRecord(AuditActions.ExperimentDelete, "experiment", e.Id.ToString(),
                $"{e.Name}" + (datasetId is { } d ? $" (with its dataset {d})" : "") + $"; freed {Format.Bytes(bytes)}"), CancellationToken.None);
        }
        if (datasetId is { } datasetToDiscard)
        {
            var bytes = Discard(store.DatasetDirectory(datasetToDiscard));
            freed += bytes;
            logger.LogInformation("Dataset {Id} deleted; {Bytes} bytes freed", datasetToDiscard, bytes);
        }
        return new DeleteOutcome.Done(new DeleteResponse(freed,
            new DeletedItems(datasetId is { } x ? [x] : [], ids, runIds)));
    }

    /// <summary>True once none of the runs executes in this process and none holds a live lease (released, or its heartbeat
    /// is stale), waiting at most <see cref="JobsOptions.CancelGraceSeconds"/> + <see cref="StopMargin"/>.</summary>
    private async Task<bool> WaitStoppedAsync(MedSegDbContext db, IReadOnlyList<Guid> ids, CancellationToken ct)
    {
        var jobs = jobsOptions.Value;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Max(1, jobs.CancelGraceSeconds)) + StopMargin;
        while (true)
        {
            var stale = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(jobs.StaleAfterSeconds);
            var held = ids.Any(running.IsRunningHere) || await db.Experiments.AsNoTracking()
                .AnyAsync(e => ids.Contains(e.Id) && e.RunnerId != null && e.HeartbeatAt != null && e.HeartbeatAt >= stale, ct);
            if (!held) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(200, ct);
        }
    }

    /// <summary>Moves a folder to the trash, then deletes it there; returns the bytes it held. A failure leaves it for the next start.</summary>
    private long Discard(string directory)
    {
        string? trashed;
        try
        {
            trashed = store.MoveToTrash(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not move {Dir} to the trash; it has no row now and is removed at the next start", directory);
            return 0;
        }
        if (trashed is null) return 0;
        var bytes = ArtifactStore.SizeOf(trashed);
        if (!ArtifactStore.TryDelete(trashed)) logger.LogWarning("Could not delete {Dir}; the trash is emptied at the next start", trashed);
        return bytes;
    }

    private static async Task<ExperimentRow?> ExperimentAsync(MedSegDbContext db, Guid id, UserContext user, CancellationToken ct) =>
        await Access.Experiments(db, user).AsNoTracking().Where(e => e.Id == id)
            .Select(e => new ExperimentRow(e.Id, e.Name, e.OwnerId, e.Status)).FirstOrDefaultAsync(ct);

    /// <summary>Every experiment on the dataset, and the ids of those the user can see.</summary>
    private static async Task<(IReadOnlyList<ExperimentRow> All, HashSet<Guid> Visible)> UsersOfAsync(MedSegDbContext db, Guid datasetId,
        UserContext user, CancellationToken ct)
    {
        var all = await db.Experiments.AsNoTracking().Where(e => e.DatasetId == datasetId).OrderBy(e => e.CreatedAt)
            .Select(e => new ExperimentRow(e.Id, e.Name, e.OwnerId, e.Status)).ToListAsync(ct);
        var visible = all.Count == 0 ? [] : (await Access.Experiments(db, user).Where(e => e.DatasetId == datasetId).Select(e => e.Id).ToListAsync(ct)).ToHashSet();
        return (all, visible);
    }

    private static bool IsActive(ExperimentStatus status) =>
        status is ExperimentStatus.Queued or ExperimentStatus.Running or ExperimentStatus.Interrupted;

    /// <summary>A prediction run that a job may be working on: queued, or running with a live heartbeat.</summary>
    private bool InProgress(PredictionRunState run) =>
        run.Status == PredictionRunStatus.Queued || run.Status == PredictionRunStatus.Running && !PredictJob.IsStale(run, jobsOptions.Value);

    private static bool CanSeeRun(ExperimentRow e, PredictionRunState run, UserContext user) => Access.CanSeeRun(e.OwnerId, run.CreatedBy, user);

    private static ItemRef Ref(ExperimentRow e) => new(e.Id, e.Name);

    private static string ReadOnly(string kind) => $"This {kind} is shared with you read-only; only its owner or an admin can delete it.";

    /// <summary>"“a” (id), “b” (id) and 3 more", plus the experiments of others that the user cannot see, counted.</summary>
    internal static string Names(IReadOnlyList<ItemRef> items, int hidden)
    {
        var parts = items.Take(MaxNamed).Select(i => $"“{i.Name}” ({i.Id})").ToList();
        var text = string.Join(", ", parts);
        if (items.Count > MaxNamed) text += $" and {items.Count - MaxNamed} more";
        if (hidden > 0) text += (text.Length > 0 ? "; and " : "") + $"{hidden} experiment(s) of other users that you cannot see";
        return text;
    }
}
