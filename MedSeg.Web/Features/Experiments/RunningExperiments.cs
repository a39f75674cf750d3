using System.Collections.Concurrent;
using MedSeg.Web.Infrastructure;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments;

/// <summary>The runs executing in this process: at most one job per experiment enters (a Hangfire re-fetch, the dashboard's
/// Requeue or a Resume racing a Cancel find it taken), and Cancel or a lost lease stops the run's child.</summary>
public sealed class RunningExperiments(IOptions<JobsOptions> options)
{
    private readonly ConcurrentDictionary<Guid, Run> runs = new();

    /// <summary>This process's identity in an experiment's lease: <c>node@machine:pid:nonce</c> (the node name of
    /// <see cref="JobsOptions.NodeName"/>, the machine it runs on, its process id and a per-start nonce).</summary>
    public string RunnerId { get; } = $"{options.Value.ResolvedNodeName}@{JobQueues.SafeName(Environment.MachineName)}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>The node part of a lease (<see cref="RunnerId"/>); the machine name in leases written before node names.</summary>
    public static string? NodeOf(string? runnerId) => runnerId?.Split(':')[0].Split('@')[0];

    /// <summary>The machine part of a lease.</summary>
    public static string? MachineOf(string? runnerId) => runnerId?.Split(':')[0].Split('@')[^1];

    /// <summary>How many runs execute in this process now.</summary>
    public int Count => runs.Count;

    /// <summary>Registers the experiment's run in this process, or returns null when a run of it is already here.</summary>
    public Run? TryRegister(Guid id, CancellationToken jobToken)
    {
        var run = new Run(CancellationTokenSource.CreateLinkedTokenSource(jobToken));
        if (runs.TryAdd(id, run)) return run;
        run.Dispose();
        return null;
    }

    /// <summary>Raised when a run of this process ends (its slot is free): the training queue dispatches the next one at once.</summary>
    public event Action? RunEnded;

    public void Unregister(Guid id, Run run)
    {
        if (!runs.TryRemove(new KeyValuePair<Guid, Run>(id, run))) return;
        run.Dispose();
        RunEnded?.Invoke();
    }

    public bool IsRunningHere(Guid id) => runs.ContainsKey(id);

    public bool Cancel(Guid id)
    {
        if (!runs.TryGetValue(id, out var run)) return false;
        run.Stop();
        return true;
    }

    /// <summary>One run's stop switch. <see cref="LeaseLost"/> tells the job that another process owns the run now, so it
    /// must leave the run's state alone.</summary>
    public sealed class Run(CancellationTokenSource cts) : IDisposable
    {
        private int leaseLost;

        public CancellationToken Token => cts.Token;
        public bool LeaseLost => Volatile.Read(ref leaseLost) == 1;

        public void Stop()
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }

        public void LoseLease()
        {
            Interlocked.Exchange(ref leaseLost, 1);
            Stop();
        }

        public void Dispose() => cts.Dispose();
    }
}
