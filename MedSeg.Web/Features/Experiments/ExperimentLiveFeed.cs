namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// A Blazor component's subscription to one experiment's SignalR group (it connects to <see cref="ExperimentHub"/>
/// as the signed-in user). Handlers run on the hub connection's thread: use InvokeAsync(StateHasChanged).
/// </summary>
public sealed class ExperimentLiveFeed : IAsyncDisposable
{
    public event Func<BatchProgressMessage, Task>? BatchProgress;
    public event Func<EpochCompletedMessage, Task>? EpochCompleted;
    public event Func<PreviewsUpdatedMessage, Task>? PreviewsUpdated;
    public event Func<StatusChangedMessage, Task>? StatusChanged;

    /// <summary>Connects and joins the experiment's group. Safe to call once per component.</summary>
    public Task StartAsync(Guid experimentId, CancellationToken ct = default) => throw new NotSupportedException();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    internal Task RaiseAsync(object message) => message switch
    {
        BatchProgressMessage m => BatchProgress?.Invoke(m) ?? Task.CompletedTask,
        EpochCompletedMessage m => EpochCompleted?.Invoke(m) ?? Task.CompletedTask,
        PreviewsUpdatedMessage m => PreviewsUpdated?.Invoke(m) ?? Task.CompletedTask,
        StatusChangedMessage m => StatusChanged?.Invoke(m) ?? Task.CompletedTask,
        _ => Task.CompletedTask,
    };
}
