using System.Threading.Channels;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments.Queue;

/// <summary>
/// The fair training queue. A launched (or resumed, or recovered) run waits as <see cref="ExperimentStatus.Queued"/> with no
/// Hangfire job (<see cref="Experiment.JobId"/> null) from <see cref="Experiment.QueuedAt"/> on. Every
/// <see cref="Interval"/>, and at once on <see cref="Kick"/> (a launch, a run that ends in this process), this service gives
/// each free training slot to the run <see cref="FairQueue"/> picks and only then creates its Hangfire job on the
/// <c>training</c> queue. Hangfire's own queue is first in, first out: a user who queues ten runs would otherwise hold every
/// worker until all ten are done.
/// <para>Slots = the workers of the live Hangfire servers that serve the training queue (every node's
/// <c>MedSeg:Jobs:WorkerCount</c>), at least this node's own. A slot is held by a Running run, a dispatched run that has not
/// started yet (Queued with a job), and any run whose lease is still fresh (a cancelled child that still stops).</para>
/// <para>Two nodes never both dispatch a run: the pass holds a distributed lock of the job storage, and the job id is written
/// only where it is still null. The job is created scheduled a little later and enqueued once the id is stored, so a lost race
/// deletes a job that never ran, and a node that dies between the two leaves a job that still starts.</para>
/// </summary>
public sealed class TrainingDispatcher(IServiceScopeFactory scopes, JobStorage storage, RunningExperiments running,
    IOptions<JobsOptions> options, ILogger<TrainingDispatcher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    /// <summary>A Hangfire server whose last heartbeat is older than this no longer counts towards the slots.</summary>
    public static readonly TimeSpan ServerAlive = TimeSpan.FromSeconds(90);
    /// <summary>When a dispatched job would start by itself had its node died before enqueuing it.</summary>
    private static readonly TimeSpan EnqueueFallback = TimeSpan.FromSeconds(30);
    private const string LockName = "medseg:training-dispatch";

    private readonly Channel<bool> kicks = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Asks for a dispatch pass now (a run was queued or a slot freed) instead of at the next tick.</summary>
    public void Kick() => kicks.Writer.TryWrite(true);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        running.RunEnded += Kick;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        running.RunEnded -= Kick;
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DispatchAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Training dispatch failed");
            }
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            tick.CancelAfter(Interval);
            try
            {
                await kicks.Reader.ReadAsync(tick.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // the tick
            }
        }
    }

    /// <summary>The training slots of the cluster: workers of live servers on the training queue, at least this node's own.</summary>
    public int Slots() => Slots(LiveTrainingServers());

    private int Slots(IReadOnlyList<Hangfire.Storage.Monitoring.ServerDto> servers)
    {
        var workers = servers.Sum(s => s.WorkersCount);
        var own = options.Value.RunServer && JobQueues.Parse(options.Value.Queues).Any(JobQueues.IsTraining) ? Math.Max(1, options.Value.WorkerCount) : 0;
        return Math.Max(workers, own);
    }

    /// <summary>The live Hangfire servers of every node that serve a training queue.</summary>
    private IReadOnlyList<Hangfire.Storage.Monitoring.ServerDto> LiveTrainingServers()
    {
        var alive = DateTime.UtcNow - ServerAlive;
        return storage.GetMonitoringApi().Servers()
            .Where(s => s.Queues.Any(JobQueues.IsTraining) && (s.Heartbeat ?? s.StartedAt) >= alive).ToList();
    }

    /// <summary>One pass: frees dispatches whose job is gone, then fills the free slots in the fair order. Returns the runs it
    /// dispatched, in order.</summary>
    public async Task<IReadOnlyList<Guid>> DispatchAsync(CancellationToken ct)
    {
        using var connection = storage.GetConnection();
        IDisposable gate;
        try
        {
            gate = connection.AcquireDistributedLock(LockName, TimeSpan.FromSeconds(1));
        }
        catch (DistributedLockTimeoutException)
        {
            return []; // another node dispatches now
        }
        using (gate)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var jobs = scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>();
            var quotas = scope.ServiceProvider.GetRequiredService<QuotaService>();
            var snapshot = await QueueSnapshot.ReadAsync(db, quotas, options.Value, ct);
            if (await ReleaseLostDispatchesAsync(db, connection, snapshot, ct)) snapshot = await QueueSnapshot.ReadAsync(db, quotas, options.Value, ct);
            var servers = LiveTrainingServers();
            var served = servers.SelectMany(s => s.Queues).Where(JobQueues.IsTraining).ToHashSet(StringComparer.Ordinal);
            if (options.Value.RunServer) served.UnionWith(JobQueues.Parse(options.Value.Queues).Where(JobQueues.IsTraining));
            var free = Slots(servers) - snapshot.Occupied;
            var dispatched = new List<Guid>();
            var queued = snapshot.Queued.ToList();
            var users = snapshot.Users.ToDictionary();
            while (free > 0 && FairQueue.Next(queued, users) is { } next)
            {
                queued.Remove(next);
                if (!await TryDispatchAsync(db, jobs, next.Id, served, ct)) continue;
                dispatched.Add(next.Id);
                free--;
                var u = users.GetValueOrDefault(next.OwnerId) ?? new QueueUser(0, null, null);
                users[next.OwnerId] = u with { Running = u.Running + 1, LastStartedAt = DateTimeOffset.UtcNow };
            }
            return dispatched;
        }
    }

    /// <summary>Creates the run's job and stores its id where none is stored yet; the job is enqueued only then.</summary>
    private async Task<bool> TryDispatchAsync(MedSegDbContext db, IBackgroundJobClient jobs, Guid id, IReadOnlyCollection<string> served,
        CancellationToken ct)
    {
        // The queue of the device the run asks for (auto: a GPU node when one serves training-gpu).
        var configJson = await db.Experiments.Where(e => e.Id == id).Select(e => e.ConfigJson).FirstOrDefaultAsync(ct);
        var queue = JobQueues.Route(ExperimentConfig.Parse(configJson).Device, served);
        var jobId = jobs.Create<TrainExperimentJob>(j => j.RunAsync(id, CancellationToken.None), new ScheduledState(EnqueueFallback));
        var claimed = await db.Experiments.Where(e => e.Id == id && e.JobId == null && e.Status == ExperimentStatus.Queued)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.JobId, jobId), ct);
        if (claimed != 1)
        {
            jobs.Delete(jobId);
            return false;
        }
        jobs.ChangeState(jobId, new EnqueuedState(queue), ScheduledState.StateName);
        logger.LogInformation("Experiment {Id} got a training slot (job {Job} on queue {Queue})", id, jobId, queue);
        return true;
    }

    /// <summary>A dispatched run whose job ended or vanished without starting it (deleted on the dashboard, storage reset), or
    /// whose job was fetched by a server that died before the run took its lease (Hangfire would fetch it again only after its
    /// invisibility timeout of days), holds its slot for ever: its job id is cleared so that it queues again.</summary>
    private async Task<bool> ReleaseLostDispatchesAsync(MedSegDbContext db, IStorageConnection connection, QueueSnapshot snapshot,
        CancellationToken ct)
    {
        if (snapshot.Dispatched.Count == 0) return false;
        var alive = DateTime.UtcNow - ServerAlive;
        var servers = storage.GetMonitoringApi().Servers().Where(s => (s.Heartbeat ?? s.StartedAt) >= alive).Select(s => s.Name).ToHashSet();
        var released = false;
        foreach (var (id, jobId) in snapshot.Dispatched)
        {
            var state = connection.GetStateData(jobId);
            var name = state?.Name;
            var lost = name is null || name == SucceededState.StateName || name == FailedState.StateName || name == DeletedState.StateName
                || name == ProcessingState.StateName && state!.Data.TryGetValue("ServerId", out var server) && !servers.Contains(server);
            if (!lost) continue;
            if (await db.Experiments.Where(e => e.Id == id && e.JobId == jobId && e.Status == ExperimentStatus.Queued && e.RunnerId == null)
                    .ExecuteUpdateAsync(s => s.SetProperty(e => e.JobId, (string?)null), ct) != 1) continue;
            logger.LogWarning("Experiment {Id}: its job {Job} ended or was lost before it started ({State}); it queues again", id, jobId, state?.Name ?? "gone");
            released = true;
        }
        return released;
    }
}

/// <summary>What the queue is now: queued runs (no job yet), dispatched runs not started, how many slots are held, and each
/// owner of a queued run (running work, last start, limit).</summary>
public sealed record QueueSnapshot(IReadOnlyList<QueuedRun> Queued, IReadOnlyList<(Guid Id, string JobId)> Dispatched, int Occupied,
    IReadOnlyDictionary<string, QueueUser> Users)
{
    public static async Task<QueueSnapshot> ReadAsync(MedSegDbContext db, QuotaService quotas, JobsOptions options, CancellationToken ct)
    {
        var stale = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(options.StaleAfterSeconds);
        var rows = await db.Experiments.AsNoTracking()
            .Where(e => e.Status == ExperimentStatus.Queued || e.Status == ExperimentStatus.Running || (e.RunnerId != null && e.HeartbeatAt >= stale))
            .Select(e => new { e.Id, e.OwnerId, e.Status, e.JobId, e.QueuedAt, e.CreatedAt, e.RunnerId, e.HeartbeatAt })
            .ToListAsync(ct);
        var queued = rows.Where(r => r.Status == ExperimentStatus.Queued && r.JobId is null)
            .Select(r => new QueuedRun(r.Id, r.OwnerId, r.QueuedAt ?? r.CreatedAt)).ToList();
        var holding = rows.Where(r => !(r.Status == ExperimentStatus.Queued && r.JobId is null)).ToList();
        var owners = queued.Select(r => r.OwnerId).Distinct().ToList();
        var starts = await db.Experiments.AsNoTracking().Where(e => owners.Contains(e.OwnerId) && e.StartedAt != null)
            .Select(e => new { e.OwnerId, e.StartedAt }).ToListAsync(ct);
        var limits = await quotas.JobLimitsAsync(owners, ct);
        var users = owners.ToDictionary(u => u, u => new QueueUser(
            holding.Count(r => r.OwnerId == u),
            starts.Where(s => s.OwnerId == u).Max(s => s.StartedAt),
            limits.GetValueOrDefault(u)), StringComparer.Ordinal);
        var dispatched = rows.Where(r => r.Status == ExperimentStatus.Queued && r.JobId is not null).Select(r => (r.Id, r.JobId!)).ToList();
        return new QueueSnapshot(queued, dispatched, holding.Count, users);
    }
}
