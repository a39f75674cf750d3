using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace MedSeg.Web.Features.Datasets.Pages;

public enum UploadPhase
{
    Idle,
    Sending,
    Validating,
}

public sealed partial class UploadPanel : IDisposable
{
    public const string UploadUrl = "/api/datasets";

    /// <summary>The user's storage quota, shown above the form (null: not shown).</summary>
    [Parameter] public Quotas.QuotaStatus? Quota { get; set; }

    /// <summary>The signed-in user: their uploads still in progress (a page left and opened again) are shown.</summary>
    [Parameter] public UserContext? User { get; set; }
    /// <summary>Where the zip is posted: a new dataset (default), or <c>/api/datasets/{id}/cases</c> for a new version.</summary>
    [Parameter] public string Url { get; set; } = UploadUrl;
    [Parameter] public string Title { get; set; } = "Upload a dataset";
    /// <summary>The text field's label: the dataset's name, or (adding cases) the new version's note; sent as <see cref="NameField"/>.</summary>
    [Parameter] public string NameLabel { get; set; } = "Dataset name";
    [Parameter] public string NamePlaceholder { get; set; } = "Defaults to the file name";
    [Parameter] public string NameField { get; set; } = "name";
    /// <summary>Called once stored; without it the panel opens the dataset.</summary>
    [Parameter] public EventCallback<UploadOutcome.Created> OnCreated { get; set; }

    [Inject] private IJSRuntime JS { get; set; } = default!;
    [Inject] private UploadTracker Tracker { get; set; } = default!;
    [Inject] private NavigationManager Navigation { get; set; } = default!;

    private static readonly Dictionary<string, object?> nameAttributes = new() { ["data-testid"] = "upload-name" };
    private static readonly Dictionary<string, object?> submitAttributes = new() { ["data-testid"] = "upload-submit" };
    private static readonly Dictionary<string, object?> failureAttributes = new() { ["data-testid"] = "upload-failure" };
    private static readonly Dictionary<string, object?> cancelAttributes = new() { ["data-testid"] = "upload-cancel" };
    private readonly List<UploadJob> jobs = [];
    private string? sendId;

    private readonly CancellationTokenSource disposed = new();
    private ElementReference fileInput;
    private DotNetObjectReference<UploadPanel>? selfReference;
    private string? name;
    private string axis = VolumeUploadOptions.DefaultAxis;
    private string emptySlices = VolumeUploadOptions.DefaultEmptySlices;
    private string? clientError;
    private UploadPhase phase;
    private long loaded;
    private long total;
    private int? files;
    private UploadOutcome? outcome;

    private bool Busy => phase != UploadPhase.Idle || outcome is UploadOutcome.Created;

    protected override void OnInitialized()
    {
        if (User is null) return;
        // Uploads of this user that are still being checked, or wait for a decision: the page was left and opened again.
        jobs.AddRange(Tracker.For(User).Where(j => !j.IsFinished));
    }

    private double Percent => total <= 0 ? 0 : Math.Clamp(100.0 * loaded / total, 0, 100);

    private string ValidatingText => files is { } n
        ? $"Validating {n} files… (the server checks every image and mask before storing anything)"
        : "Validating the archive… (the server checks every image and mask before storing anything)";

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
        clientError = Check(info);
        if (clientError is not null) return;

        phase = UploadPhase.Sending;
        loaded = 0;
        total = info!.Size;
        files = info.Files;
        StateHasChanged();

        selfReference ??= DotNetObjectReference.Create(this);
        // A new dataset is checked in the background: the page can be left, and a report with problems (or label maps'
        // class map) waits for the user's decision. Cases added to a dataset are answered when stored.
        var fields = Url == UploadUrl ? new Dictionary<string, string> { ["wait"] = "false", ["review"] = "auto" } : [];
        if (!string.IsNullOrWhiteSpace(name)) fields[NameField] = name.Trim();
        if (Url == UploadUrl && axis != VolumeUploadOptions.DefaultAxis) fields["axis"] = axis;
        if (Url == UploadUrl && emptySlices != VolumeUploadOptions.DefaultEmptySlices) fields["emptySlices"] = emptySlices;
        sendId = Guid.NewGuid().ToString("N");
        try
        {
            // A CancellationToken replaces the default one-minute interop timeout: validation of a large archive takes a while.
            var response = await JS.InvokeAsync<UploadResponse>("medseg.upload", disposed.Token, fileInput, Url, fields, selfReference, sendId);
            if (response.Status == 202 && AcceptedUpload(response) is { } job)
            {
                jobs.Insert(0, job);
                outcome = null;
            }
            else
            {
                outcome = UploadOutcome.From(response);
            }
        }
        catch (JSException ex)
        {
            outcome = ex.Message.Contains("aborted", StringComparison.OrdinalIgnoreCase)
                ? new UploadOutcome.Failed("The upload was cancelled; nothing was stored.")
                : new UploadOutcome.Failed(ex.Message);
        }
        catch (Exception ex) when (ex is JSDisconnectedException || (ex is OperationCanceledException && disposed.IsCancellationRequested))
        {
            return; // the page is gone
        }
        finally
        {
            phase = UploadPhase.Idle;
        }

        if (outcome is UploadOutcome.Created created)
        {
            if (OnCreated.HasDelegate) await OnCreated.InvokeAsync(created);
            else Navigation.NavigateTo($"/datasets/{created.Id}");
        }
    }

    /// <summary>The upload a 202 answer names, from this server's tracker (null when it cannot be read or found).</summary>
    private UploadJob? AcceptedUpload(UploadResponse response)
    {
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(response.Body ?? "");
            foreach (var p in json.RootElement.EnumerateObject())
            {
                if (string.Equals(p.Name, "id", StringComparison.OrdinalIgnoreCase) && Guid.TryParse(p.Value.GetString(), out var id))
                    return User is null ? null : Tracker.Get(id, User);
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }
        return null;
    }

    private async Task CancelSendingAsync()
    {
        if (sendId is null) return;
        try
        {
            await JS.InvokeVoidAsync("medseg.cancelUpload", sendId);
        }
        catch (JSDisconnectedException)
        {
        }
    }

    private void OnJobFinished(UploadJob job)
    {
        // A clean upload opens its dataset, as a direct one did; one stored without bad cases stays to show what was left out.
        if (job.State == UploadState.Stored && job.LeftOut.Count == 0 && job.DatasetId is { } id) Navigation.NavigateTo($"/datasets/{id}");
    }

    /// <summary>Called by medseg.upload about ten times a second while the file is sent.</summary>
    [JSInvokable]
    public Task OnUploadProgress(long sent, long size)
    {
        if (phase == UploadPhase.Idle) return Task.CompletedTask;
        loaded = sent;
        if (size > 0) total = size;
        if (total > 0 && loaded >= total) phase = UploadPhase.Validating;
        return InvokeAsync(StateHasChanged);
    }

    internal static string? Check(ZipInfo? info) => info switch
    {
        null => "Choose a .zip file to upload.",
        { Name: var n } when !n.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) =>
            $"“{n}” is not a .zip file. Pack the images/ and masks/ folders into one .zip archive.",
        { Size: 0 } => $"“{info.Name}” is empty.",
        _ => null,
    };

    public void Dispose()
    {
        disposed.Cancel();
        disposed.Dispose();
        selfReference?.Dispose();
    }
}
