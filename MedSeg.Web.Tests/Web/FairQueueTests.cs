using MedSeg.Web.Features.Experiments.Queue;

namespace MedSeg.Web.Tests.Web;

/// <summary>The fair training queue's order (<see cref="FairQueue"/>) and its estimates (<see cref="QueueEta"/>), as pure functions.</summary>
public sealed class FairQueueTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static QueuedRun Run(string owner, int minute, int n) =>
        new(new Guid(n, 0, 0, new byte[8]), owner, T0.AddMinutes(minute));

    private static string Names(IEnumerable<QueuedRun> runs, IReadOnlyList<QueuedRun> all) =>
        string.Join(" ", runs.Select(r => r.OwnerId + (all.Where(x => x.OwnerId == r.OwnerId).OrderBy(x => x.QueuedAt).ToList().IndexOf(r) + 1)));

    [Fact]
    public void OneSlotGoesRoundRobinSoTheSecondUserStartsSecondNotAfterTheFirstUsersWholeSeries()
    {
        // A queued five runs, then B one. A1 started at once (the only run then) and has just ended: nobody runs now.
        List<QueuedRun> all = [.. Enumerable.Range(1, 5).Select(i => Run("A", i, i)), Run("B", 10, 6)];
        var started = new List<QueuedRun> { all[0] };
        var queued = all.Skip(1).ToList();
        var users = new Dictionary<string, QueueUser> { ["A"] = new(0, T0.AddMinutes(1), null) };
        // Serve one slot until the queue is empty, each pick running (and ending) before the next.
        while (FairQueue.Next(queued, users) is { } next)
        {
            started.Add(next);
            queued.Remove(next);
            users[next.OwnerId] = new QueueUser(0, T0.AddHours(started.Count), null);
        }
        Assert.Equal("A1 B1 A2 A3 A4 A5", Names(started, all));
    }

    [Fact]
    public void TheOrderPutsTheUserWithFewerRunningRunsFirstThenTheLeastRecentlyServed()
    {
        List<QueuedRun> queued = [Run("A", 1, 1), Run("A", 2, 2), Run("A", 3, 3), Run("B", 4, 4), Run("B", 5, 5), Run("C", 6, 6)];
        var users = new Dictionary<string, QueueUser>
        {
            ["A"] = new(2, T0, null),                 // two running
            ["B"] = new(1, T0.AddMinutes(30), null),  // one running, served recently
            ["C"] = new(1, T0.AddMinutes(10), null),  // one running, served longer ago than B
        };
        var order = FairQueue.Order(queued, users);
        // C (1 running, served before B), B (1); then A and B both at 2: A was served longest ago; then B (2 against A's 3), A, A.
        Assert.Equal("C1 B1 A1 B2 A2 A3", Names(order.Select(p => p.Run), queued));
        Assert.All(order, p => Assert.False(p.HeldByLimit));
        Assert.Equal(queued[5], FairQueue.Next(queued, users));
    }

    [Fact]
    public void AUserAtTheirConcurrentJobLimitIsPassedOverAndTheirRunsAreListedLastAsHeld()
    {
        List<QueuedRun> queued = [Run("A", 1, 1), Run("A", 2, 2), Run("B", 3, 3), Run("B", 4, 4)];
        var users = new Dictionary<string, QueueUser>
        {
            ["A"] = new(2, T0, Limit: 2),     // at the limit
            ["B"] = new(0, null, Limit: 3),
        };
        var order = FairQueue.Order(queued, users);
        Assert.Equal("B1 B2 A1 A2", Names(order.Select(p => p.Run), queued));
        Assert.Equal([false, false, true, true], order.Select(p => p.HeldByLimit));
        Assert.Equal(queued[2], FairQueue.Next(queued, users));

        // Nobody else waits: nothing starts while A is at the limit.
        Assert.Null(FairQueue.Next(queued.Take(2), users));
        Assert.Null(FairQueue.Next([], users));
    }

    [Fact]
    public void WithinOneUserRunsStartInTheOrderTheyEnteredTheQueue()
    {
        List<QueuedRun> queued = [Run("A", 5, 1), Run("A", 1, 2), Run("A", 3, 3)];
        var order = FairQueue.Order(queued, new Dictionary<string, QueueUser>());
        Assert.Equal([queued[1], queued[2], queued[0]], order.Select(p => p.Run));
    }

    [Fact]
    public void EstimatesGiveEachWaitingRunTheSlotThatFreesFirst()
    {
        var now = T0;
        Guid Id(int n) => new(n, 0, 0, new byte[8]);
        // Two slots: one run ends in 10 min, one in 30 min; three runs wait (20 min, 5 min, unknown).
        var etas = QueueEta.Schedule(now, 2,
            [new HoldingRun(Id(1), now.AddMinutes(30), "r1"), new HoldingRun(Id(2), now.AddMinutes(10), "r2")],
            [new WaitingRun(Id(3), 1200, "w3"), new WaitingRun(Id(4), 300, "w4"), new WaitingRun(Id(5), null, "w5"), new WaitingRun(Id(6), 60, "w6")]);
        Assert.Equal((now.AddMinutes(10), now.AddMinutes(30)), (etas[Id(3)].Start!.Value, etas[Id(3)].Finish!.Value));
        Assert.Equal((now.AddMinutes(30), now.AddMinutes(35)), (etas[Id(4)].Start!.Value, etas[Id(4)].Finish!.Value));
        Assert.Equal(now.AddMinutes(30), etas[Id(5)].Start);
        Assert.Null(etas[Id(5)].Finish);
        // Run 5 has no end, so its slot frees at an unknown time: run 6 takes run 4's slot when run 4 ends at 35 min.
        Assert.Equal(now.AddMinutes(35), etas[Id(6)].Start);
        Assert.Equal(now.AddMinutes(30), etas[Id(1)].Finish);

        // One slot behind a run without an estimate: nothing after it can be estimated, and says why.
        var blocked = QueueEta.Schedule(now, 1, [new HoldingRun(Id(1), null, "no epoch yet")], [new WaitingRun(Id(2), 60, "w")]);
        Assert.Null(blocked[Id(2)].Start);
        Assert.Equal(QueueEta.BehindUnknown, blocked[Id(2)].Note);
        // No worker at all.
        Assert.Equal(QueueEta.NoWorkers, QueueEta.Schedule(now, 0, [], [new WaitingRun(Id(2), 60, "w")])[Id(2)].Note);
        // A free slot starts a waiting run now.
        Assert.Equal(now, QueueEta.Schedule(now, 3, [new HoldingRun(Id(1), now.AddHours(1), "r")], [new WaitingRun(Id(2), 60, "w")])[Id(2)].Start);
    }

    [Fact]
    public void RemainingTrainingIsTheEpochsLeftTimesTheEpochTimeCappedByTheTimeBudgetLeft()
    {
        Assert.Equal(70, QueueEta.Remaining(10, 3, 10, null));
        Assert.Equal(45, QueueEta.Remaining(10, 3, 10, 45));
        Assert.Equal(0, QueueEta.Remaining(10, 3, 10, -5));
        Assert.Equal(0, QueueEta.Remaining(10, 12, 10, null));
    }
}
