using System.Diagnostics;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Training;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The training child process under its supervisor: events relayed, deaths diagnosed, the memory ceiling, cancel.</summary>
[Collection(ResumeCollection.Name)]
public sealed class ChildSupervisorTests(SmallDataset data) : IClassFixture<SmallDataset>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private static readonly ChildLimits NoCeiling = new(0, TimeSpan.FromSeconds(5));

    [Fact]
    public void PlanFileRoundTripsTheWholeTrainingPlan()
    {
        var plan = data.Plan("roundtrip") with { TimeBudget = TimeSpan.FromMinutes(3), GradientClipNorm = 12, EarlyStoppingPatience = 3 };
        var file = Path.Combine(data.Dir["plans"], "roundtrip.json");
        new TrainingChildPlan(plan, "eval").Write(file);
        var read = TrainingChildPlan.Read(file);
        Assert.Equal("eval", read.EvaluationDirectory);
        Assert.Equal(plan with { Train = read.Plan.Train, Validation = read.Plan.Validation, PreviewCases = read.Plan.PreviewCases }, read.Plan);
        Assert.Equal(plan.Train, read.Plan.Train);
        Assert.Equal(plan.Validation, read.Plan.Validation);
    }

    [Fact]
    public async Task TrainingChildRelaysEveryEventAndFinishesWithItsEvaluation()
    {
        var plan = data.Plan("child-ok", epochs: 2) with { PreviewCases = [data.Validation[0].Name] };
        var (outcome, events) = await RunAsync(new TrainingChildPlan(plan, Path.Combine(plan.RunDirectory, "predictions")), NoCeiling);
        Assert.True(outcome.End == ChildEnd.Finished, outcome.Reason + "\n" + string.Join('\n', outcome.LastErrorLines));
        Assert.Equal([1, 2], events.Where(e => e.Kind == ChildEventKind.Epoch).Select(e => e.Epoch!.Epoch));
        Assert.Contains(events, e => e.Kind == ChildEventKind.Started);
        Assert.Contains(events, e => e.Kind == ChildEventKind.Batch);
        Assert.Contains(events, e => e.Kind == ChildEventKind.Preview);
        Assert.Equal(2, outcome.Finished!.Result!.EpochsCompleted);
        Assert.Equal(data.Validation.Select(c => c.Name).Order(), outcome.Finished.Evaluated!.Select(c => c.Name).Order());
        Assert.True(outcome.PeakResidentBytes > 0);
    }

    [Fact]
    public async Task ChildOverTheMemoryCeilingIsStoppedAndTheCeilingIsNamed()
    {
        var plan = data.Plan("child-ceiling");
        var (outcome, _) = await RunAsync(new TrainingChildPlan(plan), new ChildLimits(64L << 20, TimeSpan.FromSeconds(5)));
        Assert.Equal(ChildEnd.MemoryCeiling, outcome.End);
        Assert.Contains("memory ceiling of 64 MiB", outcome.Reason);
        Assert.False(outcome.Retryable);
    }

    [Fact]
    public async Task ChildKilledBySignalNineIsDiagnosedAsKilledByTheOsAndRetryable()
    {
        if (OperatingSystem.IsWindows()) return;
        var plan = data.Plan("child-killed", epochs: 50);
        var killed = 0;
        var (outcome, _) = await RunAsync(new TrainingChildPlan(plan), NoCeiling, e =>
        {
            if (e.Kind == ChildEventKind.Epoch && Interlocked.Exchange(ref killed, 1) == 0) foreach (var pid in ChildProcesses.Matching(data.Dir["plans"])) ChildProcesses.KillHard(pid); // as the OOM killer would
        });
        Assert.Equal(ChildEnd.Signal, outcome.End);
        Assert.Equal(9, outcome.Signal);
        Assert.Contains("killed by the operating system (signal 9", outcome.Reason);
        Assert.True(outcome.Retryable);
        Assert.Equal(1, Checkpoints.ReadState(plan.RunDirectory, "last")!.Epoch);
    }

    [Fact]
    public async Task CancelStopsATrainingChildAtTheNextBatch()
    {
        var plan = data.Plan("child-cancel", epochs: 50);
        using var cts = new CancellationTokenSource();
        var (outcome, _) = await RunAsync(new TrainingChildPlan(plan), NoCeiling, e =>
        {
            if (e.Kind == ChildEventKind.Epoch) cts.Cancel();
        }, cts.Token);
        Assert.Equal(ChildEnd.Cancelled, outcome.End);
        Assert.Contains("stopped when asked", outcome.Reason);
    }

    [Fact]
    public async Task CancelKillsAChildThatIgnoresItAfterTheGracePeriod()
    {
        if (OperatingSystem.IsWindows()) return;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        var outcome = await ChildSupervisor.RunAsync(new ChildStart("sleep", ["60"], "test process"),
            new ChildLimits(0, TimeSpan.FromSeconds(1)), _ => { }, _ => { }, cts.Token).WaitAsync(Timeout);
        Assert.Equal(ChildEnd.Cancelled, outcome.End);
        Assert.Contains("did not stop within 1 s", outcome.Reason);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task ChildWhosePlanIsInvalidReportsItWithoutRetry()
    {
        var plan = data.Plan("child-invalid") with { Model = "no-such-model" };
        var (outcome, _) = await RunAsync(new TrainingChildPlan(plan), NoCeiling);
        Assert.Equal(ChildEnd.Failed, outcome.End);
        Assert.Equal(ChildFailureKind.Invalid, outcome.Failure);
        Assert.Contains("no-such-model", outcome.Reason);
        Assert.False(outcome.Retryable);
    }

    [Fact]
    public async Task ChildEndsItselfWhenItsParentPipeCloses()
    {
        if (OperatingSystem.IsWindows()) return;
        var plan = data.Plan("child-orphan", epochs: 50);
        var file = Path.Combine(data.Dir["plans"], "orphan.json");
        new TrainingChildPlan(plan).Write(file);
        var start = ChildCommands.Medseg(ChildCommands.RunExperiment, file, "training process");
        var info = new ProcessStartInfo(start.FileName) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in start.Arguments) info.ArgumentList.Add(a);
        using var child = Process.Start(info)!;
        while (await child.StandardOutput.ReadLineAsync().WaitAsync(Timeout) is { } line)
        {
            if (ChildProtocol.Parse(line)?.Kind == ChildEventKind.Batch) break;
        }
        child.StandardInput.Close(); // what the OS does to the pipe when the parent dies
        await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.NotEqual(0, child.ExitCode);
    }

    private async Task<(ChildOutcome Outcome, List<ChildEvent> Events)> RunAsync(TrainingChildPlan plan, ChildLimits limits,
        Action<ChildEvent>? onEvent = null, CancellationToken ct = default)
    {
        var file = Path.Combine(data.Dir["plans"], Guid.NewGuid().ToString("N") + ".json");
        plan.Write(file);
        var events = new List<ChildEvent>();
        var outcome = await ChildSupervisor.RunAsync(ChildCommands.Medseg(ChildCommands.RunExperiment, file, "training process"), limits,
            e =>
            {
                lock (events) events.Add(e);
                onEvent?.Invoke(e);
            }, _ => { }, ct).WaitAsync(Timeout);
        return (outcome, events);
    }
}
