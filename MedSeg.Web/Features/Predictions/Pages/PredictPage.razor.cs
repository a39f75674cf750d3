using MedSeg.Data.Entities;
using MedSeg.Web.Features.Datasets.Pages;
using MedSeg.Web.Features.Experiments;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;
using MudBlazor;

namespace MedSeg.Web.Features.Predictions.Pages;

/// <summary>
/// Predict with a trained experiment: upload a zip (XHR with progress), then follow the runs. Progress is polled every
/// 2 s from the run's status while a run is queued or running (no hub message), and the latest run's results are shown.
/// </summary>
public sealed partial class PredictPage : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    [Parameter] public Guid Id { get; set; }

    [Inject] private ExperimentService Experiments { get; set; } = default!;
    [Inject] private PredictionService Predictions { get; set; } = default!;
    [Inject] private IJSRuntime JS { get; set; } = default!;

    private readonly CancellationTokenSource disposed = new();
    private List<BreadcrumbItem> breadcrumbs = [new("Experiments", "/experiments")];
    private ElementReference fileInput;
    private DotNetObjectReference<PredictPage>? selfReference;
    private ExperimentDetail? experiment;
    private IReadOnlyList<PredictionRunSummary> runs = [];
    private PredictionRunDetail? latest;
    private bool loaded;
    private string? error;
    private string? clientError;
    private bool tta;
    private bool largestComponent;
    private bool slidingWindow;
    private IReadOnlyList<EnsembleCandidate> candidates = [];
    private IReadOnlyCollection<Guid> ensemble = [];
    private bool sending;
    private long loadedBytes;
    private long totalBytes;
    private UploadOutcome? outcome;
    private Task? polling;

    private bool Busy => sending;

    private double Percent => totalBytes <= 0 ? 0 : Math.Clamp(100.0 * loadedBytes / totalBytes, 0, 100);

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    protected override async Task OnInitializedAsync()
    {
        try
        {
            var user = await GetUserAsync();
            experiment = await Experiments.GetAsync(Id, user, disposed.Token);
            if (experiment is not null)
            {
                breadcrumbs = [new("Experiments", "/experiments"), new(experiment.Summary.Name, $"/experiments/{Id}"), new("Predict", null, disabled: true)];
                candidates = await Predictions.EnsembleCandidatesAsync(Id, user, disposed.Token);
                await RefreshAsync();
            }
        }
        catch (Exception ex) when (!disposed.IsCancellationRequested)
        {
            error = Describe(ex);
        }
        loaded = true;
        StartPolling();
    }

    private async Task RefreshAsync()
    {
        var user = await GetUserAsync();
        runs = await Predictions.ListAsync(Id, user, disposed.Token) ?? [];
        latest = runs.Count > 0 ? await Predictions.GetAsync(Id, runs[0].Id, user, disposed.Token) : null;
    }

    /// <summary>Polls every 2 s while a run is queued or running; stops when none is.</summary>
    private void StartPolling()
    {
        if (polling is { IsCompleted: false } || !runs.Any(r => r.IsActive)) return;
        polling = PollAsync();
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
                if (!runs.Any(r => r.IsActive)) return;
            }
        }
        catch (OperationCanceledException)
        {
            // the page is gone
        }
    }

    private void OnFileChanged(ChangeEventArgs _)
    {
        clientError = null;
        outcome = null;
    }

    private async Task UploadAsync()
    {
        if (Busy) return;
        clientError = null;
        outcome = null;
        var info = await JS.InvokeAsync<ZipInfo?>("medseg.zipInfo", disposed.Token, fileInput);
        clientError = info switch
        {
            null => "Choose a .zip file of images.",
            { Name: var n } when !n.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) => $"“{n}” is not a .zip file. Pack the images into one .zip archive.",
            { Size: 0 } => $"“{info.Name}” is empty.",
            _ => null,
        };
        if (clientError is not null) return;
        var members = string.Join(",", ensemble);
        if (members.Length > 0 && (await Predictions.CheckEnsembleAsync(Id, members, await GetUserAsync(), disposed.Token)).Error is { } refused)
        {
            clientError = refused;
            return;
        }

        sending = true;
        loadedBytes = 0;
        totalBytes = info!.Size;
        StateHasChanged();
        selfReference ??= DotNetObjectReference.Create(this);
        var fields = new Dictionary<string, string>
        {
            ["tta"] = tta ? "true" : "false",
            ["largestComponent"] = largestComponent ? "true" : "false",
            ["slidingWindow"] = slidingWindow ? "true" : "false",
            [PredictionService.EnsembleField] = members,
        };
        try
        {
            var response = await JS.InvokeAsync<UploadResponse>("medseg.upload", disposed.Token, fileInput,
                $"/api/experiments/{Id}/predictions", fields, selfReference);
            outcome = response.Status == 202 ? null : UploadOutcome.From(response);
            if (response.Status == 202)
            {
                await RefreshAsync();
                StartPolling();
            }
        }
        catch (JSException ex)
        {
            outcome = new UploadOutcome.Failed(ex.Message);
        }
        catch (Exception ex) when (ex is JSDisconnectedException || (ex is OperationCanceledException && disposed.IsCancellationRequested))
        {
            return;
        }
        finally
        {
            sending = false;
        }
    }

    /// <summary>The other runs of the experiment's group (its other folds or seeds), at most the ensemble's size.</summary>
    private void ChooseGroup() =>
        ensemble = [.. candidates.Where(c => c.SameGroup).Take(PredictionService.MaxEnsemble - 1).Select(c => c.Id)];

    private static string Describe(EnsembleCandidate c) =>
        $"{c.Name} ({c.Model}{(c.Fold is { } f ? $", fold {f}" : "")}{(c.SameGroup ? ", same group" : "")})";

    private string CandidateName(Guid id) => candidates.FirstOrDefault(c => c.Id == id)?.Name ?? id.ToString();

    private string EnsembleText(IReadOnlyList<string> names) => names.Count == 0 ? "" : string.Join(", ", names);

    /// <summary>Called by medseg.upload about ten times a second while the file is sent.</summary>
    [JSInvokable]
    public Task OnUploadProgress(long sent, long size)
    {
        if (!sending) return Task.CompletedTask;
        loadedBytes = sent;
        if (size > 0) totalBytes = size;
        return InvokeAsync(StateHasChanged);
    }

    public void Dispose()
    {
        disposed.Cancel();
        disposed.Dispose();
        selfReference?.Dispose();
    }
}
