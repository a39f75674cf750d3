using System.Collections.Concurrent;

namespace MedSeg.Web.Features.Experiments;

/// <summary>The runs executing in this process, so that Cancel stops them at the next batch.</summary>
public sealed class RunningExperiments
{
    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> runs = new();

    /// <summary>This process's identity in an experiment's lease.</summary>
    public string RunnerId { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public CancellationTokenSource Register(Guid id, CancellationToken jobToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(jobToken);
        runs[id] = cts;
        return cts;
    }

    public void Unregister(Guid id) => runs.TryRemove(id, out _);

    public bool IsRunningHere(Guid id) => runs.ContainsKey(id);

    public bool Cancel(Guid id)
    {
        if (!runs.TryGetValue(id, out var cts)) return false;
        cts.Cancel();
        return true;
    }
}
