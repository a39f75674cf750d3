using System.Diagnostics;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Support;

/// <summary>
/// Measures what a call costs the test process (where the in-process server runs): managed bytes allocated on all threads
/// (<see cref="GC.GetTotalAllocatedBytes"/>), and the peak of the working set above its level at the start, sampled every
/// few milliseconds on a background thread, so native memory (libvips decoding) counts too. Tests run one at a time
/// (xunit.runner.json), so the numbers are this call's, give or take background services.
/// </summary>
public sealed class MemoryProbe : IDisposable
{
    private readonly long allocatedBefore;
    private readonly long workingSetBefore;
    private readonly Thread sampler;
    private volatile bool stopped;
    private long peak;

    private MemoryProbe()
    {
        workingSetBefore = peak = WorkingSet();
        allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        sampler = new Thread(Sample) { IsBackground = true, Name = "memory probe" };
        sampler.Start();
    }

    public static MemoryProbe Start()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return new MemoryProbe();
    }

    /// <summary>Managed bytes allocated since the start (including the probe's own few kilobytes a second).</summary>
    public long AllocatedBytes => GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

    /// <summary>Highest working set seen since the start, less the working set at the start.</summary>
    public long PeakWorkingSetDelta => Math.Max(Interlocked.Read(ref peak), WorkingSet()) - workingSetBefore;

    public string Report => $"allocated {AllocatedBytes / (1024.0 * 1024):F1} MiB, peak working set +{PeakWorkingSetDelta / (1024.0 * 1024):F1} MiB";

    /// <summary>Asserts both bounds (in MiB), with the measured values in the message.</summary>
    public void AssertBelow(ITestOutputHelper output, int allocatedMiB, int workingSetMiB)
    {
        Stop();
        output.WriteLine($"{Report} (bounds: {allocatedMiB} MiB allocated, +{workingSetMiB} MiB working set)");
        Assert.True(AllocatedBytes < allocatedMiB * 1024L * 1024, $"managed allocations over {allocatedMiB} MiB: {Report}");
        Assert.True(PeakWorkingSetDelta < workingSetMiB * 1024L * 1024, $"working set grew over {workingSetMiB} MiB: {Report}");
    }

    private void Sample()
    {
        while (!stopped)
        {
            var now = WorkingSet();
            if (now > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, now);
            Thread.Sleep(2);
        }
    }

    private static long WorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private void Stop()
    {
        stopped = true;
        sampler.Join();
    }

    public void Dispose()
    {
        if (!stopped) Stop();
    }
}
