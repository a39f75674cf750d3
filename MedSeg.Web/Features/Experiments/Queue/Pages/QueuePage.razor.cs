using MedSeg.Web.Features.Sharing;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Features.Experiments.Queue.Pages;

/// <summary>The training queue (<see cref="QueueService"/>), polled every <see cref="PollInterval"/>, with a Cancel button on
/// each run the reader may cancel (their own; an admin's on every run), through <see cref="ExperimentService.CancelAsync"/>.</summary>
public sealed partial class QueuePage : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(3);

    [Inject] private QueueService Queue { get; set; } = default!;
    [Inject] private ExperimentService Experiments { get; set; } = default!;

    private readonly CancellationTokenSource disposed = new();
    private QueueView? view;
    private string? error;
    private string? message;
    private Severity messageSeverity = Severity.Info;
    private Guid? cancelling;

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    private static Color ColorOf(QueueState state) => state switch
    {
        QueueState.Running => Color.Info,
        QueueState.Starting => Color.Primary,
        _ => Color.Default,
    };

    protected override Task OnInitializedAsync() => RefreshAsync();

    /// <summary>Polls once the page is interactive (not while it is prerendered).</summary>
    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender) _ = PollAsync();
    }

    private async Task RefreshAsync()
    {
        try
        {
            view = await Queue.GetAsync(await GetUserAsync(), disposed.Token);
            error = null;
        }
        catch (Exception ex) when (!disposed.IsCancellationRequested)
        {
            error = Describe(ex);
        }
    }

    private async Task PollAsync()
    {
        using var timer = new PeriodicTimer(PollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(disposed.Token))
            {
                await RefreshAsync();
                await InvokeAsync(StateHasChanged);
            }
        }
        catch (OperationCanceledException)
        {
            // the page is gone
        }
    }

    private async Task CancelAsync(QueueEntry entry)
    {
        cancelling = entry.ExperimentId;
        try
        {
            var result = await Experiments.CancelAsync(entry.ExperimentId, await GetUserAsync(), disposed.Token);
            (message, messageSeverity) = result switch
            {
                ManageResult.Done => ($"Cancelled {entry.Name ?? "the run"}.", Severity.Success),
                ManageResult.Forbidden => ("Only its owner or an admin can cancel this run.", Severity.Warning),
                _ => ("This run is no longer there.", Severity.Warning),
            };
            await RefreshAsync();
        }
        catch (Exception ex) when (!disposed.IsCancellationRequested)
        {
            (message, messageSeverity) = (Describe(ex), Severity.Error);
        }
        finally
        {
            cancelling = null;
        }
    }

    public void Dispose()
    {
        disposed.Cancel();
        disposed.Dispose();
    }
}
