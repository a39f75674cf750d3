using System.Diagnostics;

namespace MedSeg.Engine.Isolation;

/// <summary>
/// The child's side of <see cref="ChildSupervisor"/>: watches the parent's pipe on standard input (<c>cancel</c> stops the
/// work gracefully; end of input means the parent died and the child kills itself at once, so that no orphan trains on
/// beside the run's next process), raises its own out-of-memory score so that the OS kills it rather than the server,
/// runs the work and reports how it ended as the last event.
/// </summary>
public static class ChildHost
{
    /// <summary>Runs <paramref name="work"/> and returns the exit code (<see cref="ChildProtocol"/>'s constants).</summary>
    /// <param name="watchParent">True when started by a supervisor: standard input is the parent's pipe.</param>
    public static int Run(ChildEventWriter events, bool watchParent, Func<CancellationToken, ChildEvent> work)
    {
        using var cts = new CancellationTokenSource();
        if (watchParent)
        {
            PreferAsOomVictim();
            // Ctrl+C in a terminal reaches the whole process group: stop gracefully, as the parent asks too.
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                cts.Cancel();
            };
            var watcher = new Thread(() => WatchParent(cts)) { IsBackground = true, Name = "medseg-parent-watch" };
            watcher.Start();
        }
        try
        {
            var finished = work(cts.Token);
            events.Write(finished);
            return ChildProtocol.ExitFinished;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            events.Write(new ChildEvent { Kind = ChildEventKind.Cancelled, Message = "Stopped at the parent's request." });
            return ChildProtocol.ExitCancelled;
        }
        catch (Exception e)
        {
            var kind = ChildProtocol.Classify(e);
            var message = kind is ChildFailureKind.Error or ChildFailureKind.Native ? $"{e.GetType().Name}: {e.Message}" : e.Message;
            events.Write(new ChildEvent { Kind = ChildEventKind.Failed, Failure = kind, Message = message });
            Console.Error.WriteLine(e);
            return ChildProtocol.ExitFailed;
        }
    }

    private static void WatchParent(CancellationTokenSource cts)
    {
        try
        {
            string? line;
            while ((line = Console.In.ReadLine()) is not null)
            {
                if (line.Trim() == ChildProtocol.CancelCommand) cts.Cancel();
            }
        }
        catch (IOException)
        {
            // The pipe broke: the same as end of input.
        }
        // The parent is gone. Nobody reads our events any more and the run's next process may already be starting.
        Console.Error.WriteLine("medseg: the parent process ended; stopping.");
        Environment.ExitCode = ChildProtocol.ExitOrphaned;
        Process.GetCurrentProcess().Kill();
    }

    /// <summary>Linux: the OOM killer picks the process with the highest score; a training child volunteers first, so a
    /// machine out of memory loses a run (retried from its checkpoint), not the server. Raising one's own score needs no
    /// privilege. Elsewhere nothing happens.</summary>
    private static void PreferAsOomVictim()
    {
        try
        {
            if (OperatingSystem.IsLinux()) File.WriteAllText("/proc/self/oom_score_adj", "1000");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not fatal: the supervisor's memory ceiling still applies.
        }
    }
}
