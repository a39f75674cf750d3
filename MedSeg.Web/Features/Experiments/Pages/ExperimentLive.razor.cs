using MedSeg.Data.Entities;
using MedSeg.Web.Features.Sharing;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Features.Experiments.Pages;

/// <summary>
/// One experiment, live: loads the stored history, then subscribes to the experiment's SignalR group and applies what
/// arrives (no polling). After subscribing it reloads once, so nothing pushed between the load and the subscription is lost.
/// </summary>
public sealed partial class ExperimentLive
{
    [Parameter] public Guid Id { get; set; }

    [Inject] private ExperimentService Experiments { get; set; } = default!;
    [Inject] private ExperimentLiveFeed Feed { get; set; } = default!;
    [Inject] private ExperimentExportService Exports { get; set; } = default!;

    private static readonly Dictionary<string, object?> downloadWeights = new()
    {
        ["data-testid"] = "download-weights", ["download"] = "",
        ["title"] = "model.pt (PyTorch state dict), model.safetensors, model.dat (TorchSharp) and model.json (preprocessing, class map); see docs/weights.md",
    };
    [Inject] private ILogger<ExperimentLive> Logger { get; set; } = default!;

    private readonly ExperimentLiveState state = new();

    // The services share the circuit's DbContext, which allows one operation at a time: calls from this page go one by one
    // (a status change can arrive while the page is still reloading).
    private readonly SemaphoreSlim gate = new(1, 1);
    private List<BreadcrumbItem> breadcrumbs = [new("Experiments", "/experiments")];
    private Task? loading;
    private bool loaded;
    private bool disposed;
    private bool acting;
    private bool canCreate;
    private string? error;
    private string? liveWarning;
    private string? actionError;

    private ExperimentSummary? Summary => state.Detail?.Summary;

    /// <summary>The lines of the run's log shown on the page.</summary>
    internal const int LogLines = 40;
    private IReadOnlyList<string> logLines = [];

    /// <summary>A running run's time left, from the epochs measured so far (updated live as epochs finish).</summary>
    private TimeSpan? Eta => state.Status == ExperimentStatus.Running
        ? ExperimentEta.Remaining(state.CurrentEpoch, state.Epochs, state.Metrics.Select(m => m.Seconds))
        : null;

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    protected override Task OnInitializedAsync()
    {
        Feed.BatchProgress += OnBatchProgress;
        Feed.EpochCompleted += OnEpochCompleted;
        Feed.PreviewsUpdated += OnPreviewsUpdated;
        Feed.StatusChanged += OnStatusChanged;
        return loading = LoadAsync();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        if (loading is not null) await loading;
        if (disposed || state.Detail is null) return;
        try
        {
            await Feed.StartAsync(Id);
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "Live updates for experiment {ExperimentId} are unavailable", Id);
            liveWarning = "Live updates are unavailable; reload the page to refresh.";
            StateHasChanged();
            return;
        }
        if (state.IsActive || state.Status == ExperimentStatus.Interrupted)
        {
            await LoadAsync();
            StateHasChanged();
        }
    }

    private async Task LoadAsync()
    {
        await gate.WaitAsync();
        try
        {
            var user = await GetUserAsync();
            canCreate = user.CanCreate;
            if (await Experiments.GetAsync(Id, user) is { } detail)
            {
                state.Load(detail);
                logLines = await Experiments.LogTailAsync(Id, LogLines, user) ?? [];
                breadcrumbs = [new("Experiments", "/experiments"), new(detail.Summary.Name, null, disabled: true)];
            }
            error = null;
        }
        catch (Exception ex) when (state.Detail is not null)
        {
            Logger.LogWarning(ex, "Reloading experiment {ExperimentId} failed", Id);
        }
        catch (Exception ex)
        {
            error = Describe(ex);
        }
        finally
        {
            gate.Release();
        }
        loaded = true;
    }

    private Task OnBatchProgress(BatchProgressMessage message) => Update(() => state.Apply(message));

    private Task OnEpochCompleted(EpochCompletedMessage message) => InvokeAsync(async () =>
    {
        if (disposed) return;
        state.Apply(message);
        StateHasChanged();
        await RefreshLogAsync(); // the epoch's line (and the engine's messages before it)
        StateHasChanged();
    });

    private async Task RefreshLogAsync()
    {
        await gate.WaitAsync();
        try
        {
            logLines = await Experiments.LogTailAsync(Id, LogLines, await GetUserAsync()) ?? logLines;
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "Reading the log of experiment {ExperimentId} failed", Id);
        }
        finally
        {
            gate.Release();
        }
    }

    private Task OnPreviewsUpdated(PreviewsUpdatedMessage message) => Update(() => state.Apply(message));

    private Task OnStatusChanged(StatusChangedMessage message) => InvokeAsync(async () =>
    {
        if (disposed) return;
        state.Apply(message);
        StateHasChanged();
        await LoadAsync(); // picks up the error text, the final epoch and the completion time
        StateHasChanged();
    });

    private Task Update(Action apply) => InvokeAsync(() =>
    {
        if (disposed) return;
        apply();
        StateHasChanged();
    });

    internal const string StillStoppingMessage =
        "The process that ran this experiment is still stopping (a cancelled run gets a few seconds to stop); resume it again in a moment.";

    private Task CancelAsync() => ActAsync(async (id, user, ct) => await Experiments.CancelAsync(id, user, ct) switch
    {
        ManageResult.Done => null,
        ManageResult.Forbidden => ReadOnly("cancel"),
        _ => NotAllowed("cancel"),
    });

    private Task ResumeAsync() => ActAsync(async (id, user, ct) => await Experiments.ResumeAsync(id, user, ct) switch
    {
        ResumeResult.Resumed => null,
        ResumeResult.StillStopping => StillStoppingMessage,
        ResumeResult.Forbidden => ReadOnly("resume"),
        _ => NotAllowed("resume"),
    });

    private static string ReadOnly(string verb) => $"This experiment is shared with you read-only; only its owner or an admin can {verb} it.";

    private static string NotAllowed(string verb) =>
        $"Could not {verb} this experiment: it was not found, or it is no longer in a state that allows it.";

    /// <summary>Runs a Cancel or Resume; the action returns null when done, else the message to show.</summary>
    private async Task ActAsync(Func<Guid, UserContext, CancellationToken, Task<string?>> action)
    {
        acting = true;
        actionError = null;
        await gate.WaitAsync();
        try
        {
            actionError = await action(Id, await GetUserAsync(), CancellationToken.None);
        }
        catch (Exception ex)
        {
            actionError = $"Could not do that: {Describe(ex)}";
        }
        finally
        {
            gate.Release();
        }
        await LoadAsync();
        acting = false;
    }

    public async ValueTask DisposeAsync()
    {
        disposed = true;
        Feed.BatchProgress -= OnBatchProgress;
        Feed.EpochCompleted -= OnEpochCompleted;
        Feed.PreviewsUpdated -= OnPreviewsUpdated;
        Feed.StatusChanged -= OnStatusChanged;
        await Feed.DisposeAsync();
    }
}
