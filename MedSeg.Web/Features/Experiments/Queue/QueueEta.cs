using System.Globalization;

namespace MedSeg.Web.Features.Experiments.Queue;

/// <summary>When a run should start and end, or null and why not.</summary>
public sealed record Eta(DateTimeOffset? Start, DateTimeOffset? Finish, string Note);

/// <summary>A run holding a slot: when it should end (null = no estimate) and what that rests on.</summary>
public sealed record HoldingRun(Guid Id, DateTimeOffset? Finish, string Note);

/// <summary>A queued run in queue order: how long it should train (null = no estimate) and what that rests on.</summary>
public sealed record WaitingRun(Guid Id, double? Seconds, string Note);

/// <summary>
/// Queue estimates as pure functions of measured epoch times: a run's remaining training (epochs left × seconds per epoch,
/// capped by what is left of its time budget), and each queued run's start and end from the slots, assuming the queue is served
/// in its order and every run trains all its epochs (early stopping only makes it earlier).
/// </summary>
public static class QueueEta
{
    public const string NoWorkers = "No training worker is running: the run starts when a worker node is up.";
    public const string BehindUnknown = "Waits behind a run whose end cannot be estimated yet.";

    /// <summary>Seconds of training left: the epochs not done × the seconds per epoch, at most the time budget left.</summary>
    public static double Remaining(int epochs, int done, double secondsPerEpoch, double? budgetLeftSeconds)
    {
        var left = Math.Max(0, epochs - done) * secondsPerEpoch;
        return budgetLeftSeconds is { } budget ? Math.Clamp(budget, 0, left) : left;
    }

    /// <summary>
    /// Gives each waiting run, in order, the slot that frees first. A slot frees when the run holding it ends (unknown ends last);
    /// <paramref name="slots"/> beyond the holding runs are free now, and holding runs beyond the slots free none.
    /// </summary>
    public static IReadOnlyDictionary<Guid, Eta> Schedule(DateTimeOffset now, int slots, IReadOnlyList<HoldingRun> holding, IReadOnlyList<WaitingRun> waiting)
    {
        var etas = holding.ToDictionary(h => h.Id, h => new Eta(null, h.Finish, h.Note));
        if (slots <= 0)
        {
            foreach (var w in waiting) etas[w.Id] = new Eta(null, null, NoWorkers);
            return etas;
        }
        // Free times of the slots, soonest first; null = not known.
        var free = holding.Select(h => h.Finish is { } f ? f < now ? now : f : (DateTimeOffset?)null)
            .OrderBy(f => f ?? DateTimeOffset.MaxValue)
            .Skip(Math.Max(0, holding.Count - slots))
            .Concat(Enumerable.Repeat((DateTimeOffset?)now, Math.Max(0, slots - holding.Count)))
            .ToList();
        foreach (var w in waiting)
        {
            free.Sort((a, b) => (a ?? DateTimeOffset.MaxValue).CompareTo(b ?? DateTimeOffset.MaxValue));
            if (free[0] is not { } start)
            {
                etas[w.Id] = new Eta(null, null, BehindUnknown);
                continue;
            }
            var finish = w.Seconds is { } s ? start + TimeSpan.FromSeconds(s) : (DateTimeOffset?)null;
            etas[w.Id] = new Eta(start, finish, w.Note);
            free[0] = finish;
        }
        return etas;
    }

    /// <summary>"42 s per epoch over 3 measured epochs of this run".</summary>
    public static string Measured(double secondsPerEpoch, int epochs, string of) =>
        $"{Shared.Format.Seconds(secondsPerEpoch)} per epoch over {epochs.ToString(CultureInfo.InvariantCulture)} measured epoch(s) of {of}.";
}
