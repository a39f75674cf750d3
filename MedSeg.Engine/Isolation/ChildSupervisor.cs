using System.Diagnostics;
using System.Globalization;

namespace MedSeg.Engine.Isolation;

/// <summary>How to start a child: the program, its arguments, and what it is called in messages ("training process").</summary>
public sealed record ChildStart(string FileName, IReadOnlyList<string> Arguments, string What = "training process")
{
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();
    public string? WorkingDirectory { get; init; }
}

/// <summary>The supervisor's limits: resident memory at which the child is stopped (0 = none), and how long a cancelled
/// child may take to stop by itself before it is killed.</summary>
public sealed record ChildLimits(long MemoryCeilingBytes, TimeSpan CancelGrace)
{
    public TimeSpan MemoryPollInterval { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>How a child ended.</summary>
public enum ChildEnd
{
    /// <summary>It reported <see cref="ChildEventKind.Finished"/> and exited 0.</summary>
    Finished,
    /// <summary>It was cancelled (stopped by itself within the grace period, or killed after it).</summary>
    Cancelled,
    /// <summary>The supervisor stopped it at the memory ceiling.</summary>
    MemoryCeiling,
    /// <summary>It reported a failure it caught (<see cref="ChildOutcome.Failure"/>).</summary>
    Failed,
    /// <summary>A signal it did not choose ended it (the OOM killer's SIGKILL, a segfault, an abort in native code).</summary>
    Signal,
    /// <summary>It exited non-zero without reporting why.</summary>
    Crashed,
}

/// <summary>The diagnosis of a child's end. <see cref="Reason"/> is a sentence for the user.</summary>
public sealed record ChildOutcome(ChildEnd End, string Reason, int? ExitCode, long PeakResidentBytes)
{
    public ChildFailureKind? Failure { get; init; }
    public int? Signal { get; init; }
    /// <summary>The <see cref="ChildEventKind.Finished"/> event, when the child finished.</summary>
    public ChildEvent? Finished { get; init; }
    /// <summary>The child's last lines on standard error (native messages land there).</summary>
    public IReadOnlyList<string> LastErrorLines { get; init; } = [];

    /// <summary>True when running the same work again from its last checkpoint may succeed: a native error or a death by
    /// a signal or an unexplained exit. A memory ceiling, a non-finite loss, an invalid plan or a cancel would end the
    /// same way again.</summary>
    public bool Retryable => End is ChildEnd.Signal or ChildEnd.Crashed || End == ChildEnd.Failed && Failure == ChildFailureKind.Native;

    /// <summary>True when the end points at the run's size (memory, a native crash): a smaller batch, image or variant is
    /// the advice. A non-finite loss, invalid data or a checkpoint failure carry their own advice in their message.</summary>
    public bool SuggestsSmallerRun => End is ChildEnd.MemoryCeiling or ChildEnd.Signal or ChildEnd.Crashed
        || Failure is ChildFailureKind.Native or ChildFailureKind.OutOfMemory;
}

/// <summary>
/// The parent's side of a child process (<see cref="ChildHost"/> is the child's): starts it, relays its events as they
/// arrive, keeps the tail of its standard error, watches its resident memory against a ceiling (ends it with a clear
/// message before the OS has to kill anything), asks it to stop on cancellation and kills it when it does not stop within
/// the grace period, and diagnoses how it ended from its last event, its exit status and the signal that ended it.
/// </summary>
public static class ChildSupervisor
{
    private const int ErrorTail = 40;
    private const int SignalExitBase = 128; // .NET on Unix reports a child ended by signal N as exit code 128 + N

    public static async Task<ChildOutcome> RunAsync(ChildStart start, ChildLimits limits, Action<ChildEvent> onEvent,
        Action<string> onOutput, CancellationToken ct)
    {
        var info = new ProcessStartInfo(start.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = start.WorkingDirectory ?? "",
        };
        foreach (var a in start.Arguments) info.ArgumentList.Add(a);
        foreach (var (k, v) in start.Environment) info.Environment[k] = v;

        using var process = new Process { StartInfo = info };
        if (!process.Start()) throw new InvalidOperationException($"The {start.What} could not be started ({start.FileName}).");
        var errors = new Queue<string>();
        ChildEvent? last = null;
        var readOut = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync(CancellationToken.None) is { } line)
            {
                if (ChildProtocol.Parse(line) is { } e)
                {
                    if (e.Kind is ChildEventKind.Finished or ChildEventKind.Failed or ChildEventKind.Cancelled) last = e;
                    onEvent(e);
                }
                else if (line.Length > 0)
                {
                    onOutput(line);
                }
            }
        }, CancellationToken.None);
        var readErr = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync(CancellationToken.None) is { } line)
            {
                lock (errors)
                {
                    errors.Enqueue(line);
                    if (errors.Count > ErrorTail) errors.Dequeue();
                }
                onOutput(line);
            }
        }, CancellationToken.None);

        var stopReason = StopReason.None;
        long peak = 0;
        void Kill(StopReason why)
        {
            if (stopReason == StopReason.None) stopReason = why;
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        using var exited = new CancellationTokenSource();
        var graceTimer = Task.CompletedTask;
        using var onCancel = ct.Register(() =>
        {
            if (stopReason == StopReason.None) stopReason = StopReason.Cancelled;
            try
            {
                process.StandardInput.WriteLine(ChildProtocol.CancelCommand);
                process.StandardInput.Flush();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
            {
                // The child is already on its way out.
            }
            graceTimer = Task.Delay(limits.CancelGrace, exited.Token).ContinueWith(t =>
            {
                if (!t.IsCanceled) Kill(StopReason.Cancelled);
            }, TaskScheduler.Default);
        });

        var watch = Task.Run(async () =>
        {
            while (!exited.IsCancellationRequested)
            {
                try
                {
                    process.Refresh();
                    if (process.HasExited) break;
                    var resident = process.WorkingSet64;
                    peak = Math.Max(peak, resident);
                    if (limits.MemoryCeilingBytes > 0 && resident > limits.MemoryCeilingBytes)
                    {
                        Kill(StopReason.MemoryCeiling);
                        break;
                    }
                }
                catch (InvalidOperationException)
                {
                    break;
                }
                try
                {
                    await Task.Delay(limits.MemoryPollInterval, exited.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }, CancellationToken.None);

        await process.WaitForExitAsync(CancellationToken.None);
        exited.Cancel();
        await Task.WhenAll(readOut, readErr, watch);
        await graceTimer.ContinueWith(_ => { }, TaskScheduler.Default);
        string[] tail;
        lock (errors) tail = [.. errors];
        return Diagnose(start.What, process.ExitCode, stopReason, last, peak, limits, tail);
    }

    private enum StopReason
    {
        None,
        Cancelled,
        MemoryCeiling,
    }

    private static ChildOutcome Diagnose(string what, int exitCode, StopReason stop, ChildEvent? last, long peak, ChildLimits limits,
        IReadOnlyList<string> errors)
    {
        var lastError = errors.LastOrDefault(l => !string.IsNullOrWhiteSpace(l) && !l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        ChildOutcome Outcome(ChildEnd end, string reason) => new(end, reason, exitCode, peak) { LastErrorLines = errors };
        if (stop == StopReason.MemoryCeiling)
        {
            return Outcome(ChildEnd.MemoryCeiling,
                $"The {what} reached the memory ceiling of {Gib(limits.MemoryCeilingBytes)} (resident {Gib(peak)}) and was stopped.");
        }
        if (last?.Kind == ChildEventKind.Finished && exitCode == ChildProtocol.ExitFinished)
        {
            return Outcome(ChildEnd.Finished, "Finished.") with { Finished = last };
        }
        if (stop == StopReason.Cancelled)
        {
            return Outcome(ChildEnd.Cancelled, last?.Kind == ChildEventKind.Cancelled
                ? $"The {what} stopped when asked to."
                : $"The {what} did not stop within {limits.CancelGrace.TotalSeconds:0} s of the cancel and was killed.");
        }
        if (last?.Kind == ChildEventKind.Failed)
        {
            var kind = last.Failure ?? ChildFailureKind.Error;
            var message = last.Message ?? "no message";
            return Outcome(ChildEnd.Failed, kind == ChildFailureKind.Native ? $"The {what} hit a native (libtorch) error: {message}" : message)
                with { Failure = kind };
        }
        if (exitCode > SignalExitBase && exitCode <= SignalExitBase + 64)
        {
            var signal = exitCode - SignalExitBase;
            var reason = signal == 9
                ? $"The {what} was killed by the operating system (signal 9, SIGKILL), most often because the machine ran out of memory " +
                  $"(its resident memory peaked at {Gib(peak)})."
                : $"The {what} was ended by signal {signal} ({SignalName(signal)})" +
                  (lastError is null ? "." : $"; its last message: {lastError}");
            return Outcome(ChildEnd.Signal, reason) with { Signal = signal };
        }
        return Outcome(ChildEnd.Crashed, $"The {what} exited with code {exitCode} without reporting an error" +
            (lastError is null ? "." : $"; its last message: {lastError}"));
    }

    private static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT, an abort in native code",
        7 => "SIGBUS",
        8 => "SIGFPE",
        11 => "SIGSEGV, a crash in native code",
        15 => "SIGTERM",
        _ => "signal " + signal.ToString(CultureInfo.InvariantCulture),
    };

    internal static string Gib(long bytes) => bytes >= 1L << 30
        ? (bytes / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB"
        : (bytes >> 20).ToString(CultureInfo.InvariantCulture) + " MiB";
}
