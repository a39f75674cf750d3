using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.JSInterop;
using MudBlazor;

namespace MedSeg.Web.Features.Datasets.Pages;

public sealed partial class CaseDialog : IAsyncDisposable
{
    /// <summary>Longest side of the renditions the viewer loads (zoom magnifies them further).</summary>
    public const int RenditionSize = 1024;

    [CascadingParameter] private IMudDialogInstance Dialog { get; set; } = default!;
    [Parameter, EditorRequired] public DatasetSummary Dataset { get; set; } = default!;
    [Parameter, EditorRequired] public DatasetCaseSummary Case { get; set; } = default!;
    /// <summary>The case's position in the grid's order and how many cases it has; -1 when unknown (no next/previous).</summary>
    [Parameter] public int Index { get; set; } = -1;
    [Parameter] public int Total { get; set; }
    /// <summary>The case at a position of the grid's order.</summary>
    [Parameter] public Func<int, Task<DatasetCaseSummary?>>? CaseAt { get; set; }

    [Inject] private IJSRuntime JS { get; set; } = default!;

    private static readonly Dictionary<string, object?> PreviousAttributes = new() { ["data-testid"] = "viewer-previous", ["aria-label"] = "Previous case" };
    private static readonly Dictionary<string, object?> NextAttributes = new() { ["data-testid"] = "viewer-next", ["aria-label"] = "Next case" };
    private static readonly Dictionary<string, object?> OpacityAttributes = new() { ["data-testid"] = "viewer-opacity" };
    private static readonly Dictionary<string, object?> ContourAttributes = new() { ["data-testid"] = "viewer-contour" };

    private ElementReference viewer;
    private ElementReference stage;
    private HashSet<int> shown = [];
    private int opacity = 45;
    private bool contour;
    private bool attached;

    private string LayerUrl => DatasetService.LabelsUrl(Dataset.Id, current.Id, RenditionSize,
        shown.Count == Dataset.ClassMap.Count - 1 ? null : shown, contour);

    // The case shown and its position: start from the parameters, then follow next and previous (parameters are not
    // written to: the dialog may set them again).
    private DatasetCaseSummary current = default!;
    private int position;

    protected override void OnInitialized()
    {
        shown = [.. Dataset.ClassMap.Where(e => e.Value > 0).Select(e => e.Value)];
        current = Case;
        position = Index;
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        try
        {
            await JS.InvokeVoidAsync("medseg.panZoom", stage);
            attached = true;
            await viewer.FocusAsync();
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
        }
    }

    private void Toggle(int value, bool on)
    {
        if (on) shown.Add(value);
        else shown.Remove(value);
    }

    private async Task MoveAsync(int step)
    {
        if (CaseAt is null || position < 0) return;
        var next = position + step;
        if (next < 0 || next >= Total) return;
        if (await CaseAt(next) is not { } found) return;
        current = found;
        position = next;
        StateHasChanged();
    }

    private async Task ZoomAsync(double factor)
    {
        if (!attached) return;
        try
        {
            await JS.InvokeVoidAsync("medseg.zoom", stage, factor);
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException)
        {
        }
    }

    private async Task OnKeyAsync(KeyboardEventArgs e)
    {
        switch (e.Key)
        {
            case "ArrowRight" or "n":
                await MoveAsync(1);
                break;
            case "ArrowLeft" or "p":
                await MoveAsync(-1);
                break;
            case "+" or "=":
                await ZoomAsync(1.25);
                break;
            case "-":
                await ZoomAsync(0.8);
                break;
            case "0":
                await ZoomAsync(0);
                break;
            case "c":
                contour = !contour;
                break;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
