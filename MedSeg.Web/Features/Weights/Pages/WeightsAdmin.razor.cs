using MedSeg.Web.Features.Datasets.Pages;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace MedSeg.Web.Features.Weights.Pages;

/// <summary>The weights library for admins: upload (XHR with progress to <c>POST /api/weights</c>), every file with the
/// model variants it fits and their key reports, delete.</summary>
public sealed partial class WeightsAdmin : IDisposable
{
    private static readonly string[] Accepted = [".pt", ".pth", ".bin", ".safetensors"];

    [Inject] private WeightsService Weights { get; set; } = default!;
    [Inject] private IJSRuntime JS { get; set; } = default!;

    private readonly CancellationTokenSource disposed = new();
    private ElementReference fileInput;
    private DotNetObjectReference<WeightsAdmin>? selfReference;
    private IReadOnlyList<WeightsView>? files;
    private string? name;
    private string? error;
    private string? clientError;
    private bool sending;
    private long loadedBytes;
    private long totalBytes;
    private UploadOutcome? outcome;

    private double Percent => totalBytes <= 0 ? 0 : Math.Clamp(100.0 * loadedBytes / totalBytes, 0, 100);

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    protected override Task OnInitializedAsync() => RefreshAsync();

    private async Task RefreshAsync()
    {
        try
        {
            files = await Weights.ListAsync(disposed.Token);
            error = null;
        }
        catch (Exception ex) when (!disposed.IsCancellationRequested)
        {
            error = Describe(ex);
        }
    }

    private void OnFileChanged(ChangeEventArgs _)
    {
        clientError = null;
        outcome = null;
    }

    private async Task UploadAsync()
    {
        if (sending) return;
        clientError = null;
        outcome = null;
        var info = await JS.InvokeAsync<ZipInfo?>("medseg.zipInfo", disposed.Token, fileInput);
        clientError = info switch
        {
            null => "Choose a weights file (.pt, .pth or .safetensors).",
            { Name: var n } when !Accepted.Any(e => n.EndsWith(e, StringComparison.OrdinalIgnoreCase)) =>
                $"“{n}” is not a .pt, .pth or .safetensors file.",
            { Size: 0 } => $"“{info.Name}” is empty.",
            _ => null,
        };
        if (clientError is not null) return;
        sending = true;
        loadedBytes = 0;
        totalBytes = info!.Size;
        StateHasChanged();
        selfReference ??= DotNetObjectReference.Create(this);
        try
        {
            var response = await JS.InvokeAsync<UploadResponse>("medseg.upload", disposed.Token, fileInput, "/api/weights",
                new Dictionary<string, string?> { ["name"] = string.IsNullOrWhiteSpace(name) ? null : name.Trim() }, selfReference);
            outcome = UploadOutcome.From(response);
            if (outcome is UploadOutcome.Created)
            {
                name = null;
                await RefreshAsync();
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

    /// <summary>Called by medseg.upload about ten times a second while the file is sent.</summary>
    [JSInvokable]
    public Task OnUploadProgress(long sent, long size)
    {
        if (!sending) return Task.CompletedTask;
        loadedBytes = sent;
        if (size > 0) totalBytes = size;
        return InvokeAsync(StateHasChanged);
    }

    private async Task DeleteAsync(WeightsView w)
    {
        try
        {
            await Weights.DeleteAsync(w.Id, await GetUserAsync(), disposed.Token);
            await RefreshAsync();
        }
        catch (Exception ex) when (!disposed.IsCancellationRequested)
        {
            error = Describe(ex);
        }
    }

    public void Dispose()
    {
        disposed.Cancel();
        disposed.Dispose();
        selfReference?.Dispose();
    }
}
