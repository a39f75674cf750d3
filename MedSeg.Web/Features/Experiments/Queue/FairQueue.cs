namespace MedSeg.Web.Features.Experiments.Queue;

/// <summary>A run waiting for a training slot: its owner and when it (last) entered the queue.</summary>
public sealed record QueuedRun(Guid Id, string OwnerId, DateTimeOffset QueuedAt);

/// <summary>What the queue knows of one user: runs holding a slot now, when one of theirs last started (null = never), and
/// how many they may run at once (their job quota; null = unlimited, an admin or a quota of 0).</summary>
public sealed record QueueUser(int Running, DateTimeOffset? LastStartedAt, int? Limit);

/// <summary>One pick of <see cref="FairQueue.Order"/>: the run, and whether only its owner's limit holds it back (it is listed
/// after every run that could start, in the order it would start once a run of its owner ends).</summary>
public sealed record QueuePick(QueuedRun Run, bool HeldByLimit);

/// <summary>
/// The order in which the training slots go to queued runs, as a pure function. The next run is the head run (oldest
/// <see cref="QueuedRun.QueuedAt"/>) of the user with the least running work: fewest runs holding a slot; on a tie the user
/// served least recently (whose last run started earliest, or never), then the user whose head run waits longest. A user at
/// their concurrent job limit is passed over. Least-recently-served on a tie is what makes it round robin: with one slot, A
/// queuing five runs and then B one run start A1, B1, A2, A3… (with the oldest head alone, A2 would win over B1 once A1 ends).
/// </summary>
public static class FairQueue
{
    /// <summary>The run that gets the next free slot, or null when none is queued or every owner is at their limit.</summary>
    public static QueuedRun? Next(IEnumerable<QueuedRun> queued, IReadOnlyDictionary<string, QueueUser> users) =>
        Order(queued, users) is [{ HeldByLimit: false } first, ..] ? first.Run : null;

    /// <summary>
    /// Every queued run in the order the slots would go to them if no running run ended meanwhile: each pick counts as one more
    /// running run of its owner and as their latest start. Runs held by their owner's limit come last, in the same fair order.
    /// </summary>
    public static IReadOnlyList<QueuePick> Order(IEnumerable<QueuedRun> queued, IReadOnlyDictionary<string, QueueUser> users)
    {
        var lines = queued.GroupBy(r => r.OwnerId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => new Queue<QueuedRun>(g.OrderBy(r => r.QueuedAt).ThenBy(r => r.Id)), StringComparer.Ordinal);
        var running = lines.Keys.ToDictionary(u => u, u => users.GetValueOrDefault(u)?.Running ?? 0, StringComparer.Ordinal);
        // When each user was last served: never (0), at a real start (1, the time), at a simulated pick (2, the pick's number).
        var served = lines.Keys.ToDictionary(u => u, u => users.GetValueOrDefault(u)?.LastStartedAt is { } at
            ? (Rank: 1, At: at, Pick: 0)
            : (Rank: 0, At: DateTimeOffset.MinValue, Pick: 0), StringComparer.Ordinal);
        bool Free(string u) => users.GetValueOrDefault(u)?.Limit is not { } limit || running[u] < limit;
        var picks = new List<QueuePick>();
        var held = false;
        while (lines.Count > 0)
        {
            var candidates = held ? [.. lines.Keys] : lines.Keys.Where(Free).ToList();
            if (candidates.Count == 0)
            {
                held = true; // everyone left is at their limit: the rest start as their owners' runs end
                continue;
            }
            var user = candidates
                .OrderBy(u => running[u])
                .ThenBy(u => served[u].Rank).ThenBy(u => served[u].At).ThenBy(u => served[u].Pick)
                .ThenBy(u => lines[u].Peek().QueuedAt)
                .ThenBy(u => u, StringComparer.Ordinal)
                .First();
            var run = lines[user].Dequeue();
            if (lines[user].Count == 0) lines.Remove(user);
            picks.Add(new QueuePick(run, held));
            running[user]++;
            served[user] = (2, DateTimeOffset.MaxValue, picks.Count);
        }
        return picks;
    }
}
