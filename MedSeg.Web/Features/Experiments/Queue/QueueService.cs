using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments.Queue;

/// <summary>
/// The training queue as people see it: every running and queued run, with its position in the order
/// <see cref="TrainingDispatcher"/> gives out slots (<see cref="FairQueue.Order"/>) and estimates from measured epoch times
/// (<see cref="QueueEta"/>): the run's own epochs, else earlier runs of the same architecture at the same image size (seconds
/// per training and validation case, scaled to this run's cases). Every signed-in user sees every entry; names of runs and
/// datasets only where they may see the run; cancel (through <see cref="ExperimentService.CancelAsync"/>) their own, admins any.
/// </summary>
public sealed class QueueService(IDbContextFactory<MedSegDbContext> contexts, QuotaService quotas, TrainingDispatcher dispatcher,
    IOptions<JobsOptions> jobs)
{
    /// <summary>Earlier runs whose epoch times estimate a run without measured epochs of its own.</summary>
    private const int SimilarRuns = 20;

    public async Task<QueueView> GetAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = DateTimeOffset.UtcNow;
        var snapshot = await QueueSnapshot.ReadAsync(db, quotas, jobs.Value, ct);
        var order = FairQueue.Order(snapshot.Queued, snapshot.Users);
        var rows = await db.Experiments.AsNoTracking().Include(e => e.Dataset)
            .Where(e => e.Status == ExperimentStatus.Queued || e.Status == ExperimentStatus.Running)
            .ToListAsync(ct);
        var ids = rows.Select(e => e.Id).ToList();
        var visible = (await Access.Experiments(db, user).Where(e => ids.Contains(e.Id)).Select(e => e.Id).ToListAsync(ct)).ToHashSet();
        var names = await People.NamesAsync(db, rows.Select(e => e.OwnerId), ct);
        var estimates = await EstimatesAsync(db, rows, ct);

        var byId = rows.ToDictionary(e => e.Id);
        var holding = rows.Where(e => e.Status == ExperimentStatus.Running || e.JobId is not null)
            .OrderBy(e => e.StartedAt ?? DateTimeOffset.MaxValue).ThenBy(e => e.QueuedAt ?? e.CreatedAt).ToList();
        var waiting = order.Where(p => byId.ContainsKey(p.Run.Id)).ToList();
        var etas = QueueEta.Schedule(now, dispatcher.Slots(),
            [.. holding.Select(e => estimates[e.Id] is { Seconds: { } s } est
                ? new HoldingRun(e.Id, Max(now, CountedFrom(e, est, now) + TimeSpan.FromSeconds(s)), est.Note)
                : new HoldingRun(e.Id, null, estimates[e.Id].Note))],
            [.. waiting.Select(p => new WaitingRun(p.Run.Id, estimates[p.Run.Id].Seconds, estimates[p.Run.Id].Note))]);

        QueueEntry Entry(Experiment e, int? position, bool held)
        {
            var state = e.Status == ExperimentStatus.Running ? QueueState.Running : e.JobId is null ? QueueState.Queued : QueueState.Starting;
            var seen = visible.Contains(e.Id);
            var eta = etas[e.Id];
            return new QueueEntry(e.Id, position, state, People.Of(names, e.OwnerId), e.OwnerId, user.Owns(e.OwnerId), user.CanManage(e.OwnerId),
                seen ? e.Name : null, e.Model, seen ? e.Dataset?.Name : null, e.QueuedAt ?? e.CreatedAt, e.StartedAt, e.CurrentEpoch, e.Epochs,
                state == QueueState.Queued ? eta.Start : e.StartedAt, eta.Finish, eta.Note, held);
        }
        List<QueueEntry> entries = [.. holding.Select(e => Entry(e, null, false)), .. waiting.Select((p, i) => Entry(byId[p.Run.Id], i + 1, p.HeldByLimit))];
        return new QueueView(dispatcher.Slots(), snapshot.Occupied, entries);
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Where a slot holder's remaining training is counted from: for a running run its last stored epoch, else its
    /// start; a run not started yet starts now.</summary>
    private static DateTimeOffset CountedFrom(Experiment e, Estimate estimate, DateTimeOffset now) =>
        e.Status == ExperimentStatus.Running ? estimate.LastEpochAt ?? e.StartedAt ?? now : now;

    /// <summary>Training left for a run: seconds (null = none known), what they rest on, and when its last epoch was stored.</summary>
    private sealed record Estimate(double? Seconds, string Note, DateTimeOffset? LastEpochAt = null);

    private static async Task<Dictionary<Guid, Estimate>> EstimatesAsync(MedSegDbContext db, List<Experiment> runs, CancellationToken ct)
    {
        var ids = runs.Select(e => e.Id).ToList();
        var own = (await db.EpochMetrics.AsNoTracking().Where(m => ids.Contains(m.ExperimentId))
                .Select(m => new { m.ExperimentId, m.Seconds, m.At }).ToListAsync(ct))
            .GroupBy(m => m.ExperimentId).ToDictionary(g => g.Key, g => g.ToList());
        var models = runs.Select(e => e.Model).Distinct().ToList();
        var sizes = runs.Select(e => e.ImageSize).Distinct().ToList();
        var earlier = await db.Experiments.AsNoTracking()
            .Where(e => models.Contains(e.Model) && sizes.Contains(e.ImageSize) && !ids.Contains(e.Id) && e.Metrics.Any())
            .OrderByDescending(e => e.CreatedAt).Take(SimilarRuns * 4)
            .Select(e => new { e.Id, e.Model, e.ImageSize }).ToListAsync(ct);
        var earlierIds = earlier.Select(e => e.Id).ToList();
        var epochTimes = await db.EpochMetrics.AsNoTracking().Where(m => earlierIds.Contains(m.ExperimentId))
            .GroupBy(m => m.ExperimentId).Select(g => new { g.Key, Mean = g.Average(m => m.Seconds), Count = g.Count() }).ToListAsync(ct);
        var caseCounts = (await db.ExperimentCases.AsNoTracking()
                .Where(c => (ids.Contains(c.ExperimentId) || earlierIds.Contains(c.ExperimentId)) && c.Split != CaseSplit.Test)
                .GroupBy(c => c.ExperimentId).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct))
            .ToDictionary(c => c.Key, c => c.Count);
        var perCase = earlier.Where(e => caseCounts.GetValueOrDefault(e.Id) > 0)
            .Join(epochTimes, e => e.Id, t => t.Key, (e, t) => new { e.Model, e.ImageSize, PerCase = t.Mean / caseCounts[e.Id], t.Count })
            .GroupBy(x => (x.Model, x.ImageSize))
            .ToDictionary(g => g.Key, g => g.Take(SimilarRuns).ToList());

        var estimates = new Dictionary<Guid, Estimate>();
        foreach (var e in runs)
        {
            var measured = own.GetValueOrDefault(e.Id) ?? [];
            var budget = ExperimentConfig.Parse(e.ConfigJson).TimeBudget is { } b ? b.TotalSeconds - measured.Sum(m => m.Seconds) : (double?)null;
            var done = Math.Max(e.CurrentEpoch, measured.Count);
            if (measured.Count > 0)
            {
                var mean = measured.Average(m => m.Seconds);
                estimates[e.Id] = new Estimate(QueueEta.Remaining(e.Epochs, done, mean, budget), QueueEta.Measured(mean, measured.Count, "this run"),
                    measured.MaxBy(m => m.At)!.At);
            }
            else if (perCase.TryGetValue((e.Model, e.ImageSize), out var similar) && caseCounts.GetValueOrDefault(e.Id) is > 0 and var cases)
            {
                var mean = similar.Average(s => s.PerCase) * cases;
                estimates[e.Id] = new Estimate(QueueEta.Remaining(e.Epochs, done, mean, budget),
                    QueueEta.Measured(mean, similar.Sum(s => s.Count), $"{similar.Count} earlier {e.Model} run(s) at {e.ImageSize} px, scaled to its {cases} cases"));
            }
            else
            {
                estimates[e.Id] = new Estimate(null, $"No estimate yet: no epoch of this run or of an earlier {e.Model} run at {e.ImageSize} px has been measured.");
            }
        }
        return estimates;
    }
}
