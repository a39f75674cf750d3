using System.Collections.Concurrent;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Quotas;

/// <summary>
/// The one place that counts what a user holds and runs against <see cref="QuotaOptions"/> (or their own override).
/// <para><b>Storage</b> = the <c>SizeBytes</c> of the datasets they own + the size on disk of their experiments' folders
/// (checkpoints, previews, evaluation masks and every prediction run in them, whoever started it). The folder sizes are
/// walked and cached for <see cref="FolderCacheTime"/>; uploads and deletes forget a user's entry.</para>
/// <para><b>Jobs</b> = their experiments that are queued, running or interrupted (about to resume) + the prediction runs they
/// started that are queued, running or interrupted.</para>
/// Admins are exempt from both. Launches and prediction starts of one user are checked one at a time in this process
/// (<see cref="LockJobsAsync"/>), so two requests at once do not both take the last slot.
/// </summary>
public sealed class QuotaService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, PredictionRunFiles runs,
    IOptions<QuotaOptions> options)
{
    public static readonly TimeSpan FolderCacheTime = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (DateTime At, long Bytes)> folderBytes = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> jobGates = new();

    public async Task<QuotaStatus> GetAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var (storageLimit, jobLimit) = await LimitsAsync(db, user, ct);
        return new QuotaStatus(new StorageUsage(await StorageUsedAsync(db, user.UserId, ct), storageLimit),
            new JobUsage(await ActiveJobsAsync(db, user, ct), jobLimit));
    }

    /// <summary>Null when <paramref name="bytes"/> more fit the user's storage quota (or no size is known yet); else why not.</summary>
    public async Task<StorageRefusal?> CheckStorageAsync(UserContext user, long? bytes, CancellationToken ct = default)
    {
        if (bytes is not { } needed || user.IsAdmin) return null;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var (limit, _) = await LimitsAsync(db, user, ct);
        if (limit is not { } max) return null;
        var used = await StorageUsedAsync(db, user.UserId, ct);
        if (used + needed <= max) return null;
        var left = Math.Max(0, max - used);
        return new StorageRefusal(needed, used, max,
            $"This upload needs {Format.Bytes(needed)}, but only {Format.Bytes(left)} of your storage quota of {Format.Bytes(max)} " +
            $"is left ({Format.Bytes(used)} used by your datasets and experiments). Delete datasets or experiments you no longer need " +
            "(the Delete button on their pages), or ask an administrator to raise your quota.");
    }

    /// <summary>Null when the user may queue one more training or prediction job; else why not.</summary>
    public Task<JobRefusal?> CheckJobAsync(UserContext user, CancellationToken ct = default) => CheckJobsAsync(user, 1, ct);

    /// <summary>Null when the user may queue <paramref name="count"/> more jobs at once (a group of runs); else why not.</summary>
    public async Task<JobRefusal?> CheckJobsAsync(UserContext user, int count, CancellationToken ct = default)
    {
        if (user.IsAdmin) return null;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var (_, limit) = await LimitsAsync(db, user, ct);
        if (limit is not { } max) return null;
        var active = await ActiveJobsAsync(db, user, ct);
        if (active + count <= max) return null;
        if (count > 1)
            return new JobRefusal(active, max,
                $"This group launches {count} runs, but your quota of {max} job(s) leaves room for {Math.Max(0, max - active)} " +
                $"({active} queued or running, training and prediction together). Launch fewer seeds or folds, wait for runs to " +
                "finish or cancel some, or ask an administrator to raise your quota.");
        return new JobRefusal(active, max,
            $"You have {active} job(s) queued or running (training and prediction together), the most your quota of {max} allows. " +
            "Wait for one to finish or cancel one, then try again.");
    }

    /// <summary>How many jobs each of these users may run at once: their job quota (their own or the default); null = unlimited
    /// (an admin, or a quota of 0). The training queue passes over a user at their limit (<c>FairQueue</c>).</summary>
    public async Task<IReadOnlyDictionary<string, int?>> JobLimitsAsync(IReadOnlyCollection<string> userIds, CancellationToken ct = default)
    {
        if (userIds.Count == 0) return new Dictionary<string, int?>();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var own = await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id)).Select(u => new { u.Id, u.JobQuota }).ToListAsync(ct);
        var admins = await (from ur in db.UserRoles
                            join r in db.Roles on ur.RoleId equals r.Id
                            where r.Name == UserContext.AdminRole && userIds.Contains(ur.UserId)
                            select ur.UserId).ToListAsync(ct);
        return userIds.Distinct().ToDictionary(id => id, id =>
        {
            if (admins.Contains(id)) return null;
            var jobs = own.FirstOrDefault(u => u.Id == id)?.JobQuota ?? options.Value.JobsPerUser;
            return jobs == 0 ? (int?)null : jobs;
        });
    }

    /// <summary>Serialises one user's check-then-queue in this process; dispose the result when the job is queued.</summary>
    public async Task<IDisposable> LockJobsAsync(UserContext user, CancellationToken ct = default)
    {
        var gate = jobGates.GetOrAdd(user.UserId, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        return new Release(gate);
    }

    /// <summary>Drops the cached folder size of a user (after an upload, a delete, a finished run).</summary>
    public void Forget(string userId) => folderBytes.TryRemove(userId, out _);

    private async Task<(long? Storage, int? Jobs)> LimitsAsync(MedSegDbContext db, UserContext user, CancellationToken ct)
    {
        if (user.IsAdmin) return (null, null);
        var own = await db.Users.AsNoTracking().Where(u => u.Id == user.UserId)
            .Select(u => new { u.StorageQuotaBytes, u.JobQuota }).FirstOrDefaultAsync(ct);
        var storage = own?.StorageQuotaBytes ?? options.Value.StorageBytesPerUser;
        var jobs = own?.JobQuota ?? options.Value.JobsPerUser;
        return (storage == 0 ? null : storage, jobs == 0 ? null : jobs);
    }

    private async Task<long> StorageUsedAsync(MedSegDbContext db, string userId, CancellationToken ct)
    {
        var datasets = await db.Datasets.Where(d => d.OwnerId == userId).SumAsync(d => d.SizeBytes, ct);
        if (folderBytes.TryGetValue(userId, out var cached) && DateTime.UtcNow - cached.At < FolderCacheTime) return datasets + cached.Bytes;
        var ids = await db.Experiments.Where(e => e.OwnerId == userId).Select(e => e.Id).ToListAsync(ct);
        var bytes = await Task.Run(() => ids.Sum(id => ArtifactStore.SizeOf(store.ExperimentDirectory(id))), ct);
        folderBytes[userId] = (DateTime.UtcNow, bytes);
        return datasets + bytes;
    }

    private async Task<int> ActiveJobsAsync(MedSegDbContext db, UserContext user, CancellationToken ct)
    {
        var training = await db.Experiments.CountAsync(e => e.OwnerId == user.UserId
            && (e.Status == ExperimentStatus.Queued || e.Status == ExperimentStatus.Running || e.Status == ExperimentStatus.Interrupted), ct);
        // Prediction runs live in status files of completed experiments the user can see (their own or shared with them).
        var completed = await Access.Experiments(db, user).Where(e => e.Status == ExperimentStatus.Completed)
            .Select(e => new { e.Id, e.OwnerId }).ToListAsync(ct);
        var predictions = completed.Sum(e => runs.ReadAll(e.Id).Count(r => r.IsActive && (r.CreatedBy ?? e.OwnerId) == user.UserId));
        return training + predictions;
    }

    private sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) gate.Release();
        }
    }
}
