using MedSeg.Web.Features.Datasets;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace MedSeg.Web.Features.Experiments.Pages;

public sealed partial class ComparisonPanes : IAsyncDisposable
{
    /// <summary>Longest side of the image and label renditions the viewer loads (zoom magnifies them further).</summary>
    public const int RenditionSize = 512;
    public const string Fill = "fill";
    public const string Contour = "contour";

    [Parameter, EditorRequired] public CaseResultView Case { get; set; } = default!;
    /// <summary>The experiment the case was evaluated in: its label renditions are served through it.</summary>
    [Parameter, EditorRequired] public Guid ExperimentId { get; set; }
    /// <summary>The dataset's class map (background first); three or more entries make a label map with a class toggle.</summary>
    [Parameter] public IReadOnlyList<ClassEntry> Classes { get; set; } = [];
    /// <summary>The case's position in the review's order and how many cases it has; -1 when unknown (no next/previous).</summary>
    [Parameter] public int Index { get; set; } = -1;
    [Parameter] public int Total { get; set; }
    /// <summary>Asks for the next (+1) or previous (−1) case.</summary>
    [Parameter] public EventCallback<int> Step { get; set; }

    [Inject] private IJSRuntime JS { get; set; } = default!;

    private static readonly (string Pane, string Caption, string Label)[] Panes =
    [
        ("image", "Image", "Image of"),
        ("truth", "Ground truth", "Ground truth of"),
        ("prediction", "Prediction", "Prediction for"),
        ("overlay", "Overlay: TP, FP, FN", "Overlay of prediction and ground truth for"),
    ];

    private static readonly Dictionary<string, object?> PreviousAttributes = new() { ["data-testid"] = "review-previous", ["aria-label"] = "Previous case" };
    private static readonly Dictionary<string, object?> NextAttributes = new() { ["data-testid"] = "review-next", ["aria-label"] = "Next case" };
    private static readonly Dictionary<string, object?> ModeAttributes = new() { ["data-testid"] = "review-mode" };
    private static readonly Dictionary<string, object?> FillAttributes = new() { ["data-testid"] = "review-fill" };
    private static readonly Dictionary<string, object?> ContourAttributes = new() { ["data-testid"] = "review-contour" };
    private static readonly Dictionary<string, object?> OpacityAttributes = new() { ["data-testid"] = "review-opacity" };
    private static readonly Dictionary<string, object?> ClassAttributes = new() { ["data-testid"] = "review-class" };

    private ElementReference root;
    private IJSObjectReference? module;
    private DotNetObjectReference<ComparisonPanes>? self;
    private Guid shownCase;
    private string mode = Fill;
    private int opacity = 50;
    private int? shownClass;
    private string? problem;

    private bool IsLabelMap => Classes.Count > 2;

    /// <summary>The options the viewer draws the case with.</summary>
    internal object ViewOptions => new
    {
        imageUrl = Case.ImageUrl,
        truthUrl = ReviewLabels.Url(ExperimentId, Case.CaseId, LabelSource.Truth, RenditionSize),
        predictionUrl = ReviewLabels.Url(ExperimentId, Case.CaseId, LabelSource.Prediction, RenditionSize),
        colours = IsLabelMap ? Classes.OrderBy(k => k.Value).Select(k => k.Colour).ToArray() : [],
        mode,
        opacity = opacity / 100.0,
        cls = shownClass,
    };

    protected override void OnParametersSet()
    {
        if (shownClass is { } k && !Classes.Any(c => c.Value == k)) shownClass = null;
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        try
        {
            if (firstRender)
            {
                module = await JS.InvokeAsync<IJSObjectReference>("import", "/js/review-viewer.js");
                self = DotNetObjectReference.Create(this);
                await module.InvokeVoidAsync("attach", root, self);
            }
            if (module is not null && shownCase != Case.CaseId)
            {
                shownCase = Case.CaseId;
                var hadProblem = problem is not null;
                problem = null;
                try
                {
                    await module.InvokeVoidAsync("show", root, ViewOptions);
                }
                catch (JSException e)
                {
                    problem = $"Could not draw {Case.Name}: {e.Message.Split('\n')[0]} Reload the page; if it persists, the case's files may be missing from the run folder.";
                }
                if (hadProblem || problem is not null) StateHasChanged();
            }
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException or TaskCanceledException)
        {
        }
    }

    /// <summary>A key the viewer's module reports: next, previous, or contour (fill ↔ contour).</summary>
    [JSInvokable]
    public async Task OnViewerKey(string action)
    {
        switch (action)
        {
            case "next":
                await StepAsync(1);
                break;
            case "previous":
                await StepAsync(-1);
                break;
            case "contour":
                await SetModeAsync(mode == Fill ? Contour : Fill);
                StateHasChanged();
                break;
        }
    }

    private async Task StepAsync(int step)
    {
        var next = Index + step;
        if (Index < 0 || next < 0 || next >= Total) return;
        await Step.InvokeAsync(step);
    }

    private Task SetModeAsync(string value)
    {
        mode = value is Contour ? Contour : Fill;
        return SetAsync();
    }

    private Task SetOpacityAsync(int value)
    {
        opacity = Math.Clamp(value, 0, 100);
        return SetAsync();
    }

    private Task SetClassAsync(int? value)
    {
        shownClass = value;
        return SetAsync();
    }

    private async Task SetAsync()
    {
        if (module is null) return;
        try
        {
            await module.InvokeVoidAsync("set", root, new { mode, opacity = opacity / 100.0, cls = shownClass });
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException or TaskCanceledException)
        {
        }
    }

    private async Task ZoomAsync(double factor)
    {
        if (module is null) return;
        try
        {
            await module.InvokeVoidAsync("zoom", root, factor);
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException or TaskCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (module is not null)
        {
            try
            {
                await module.InvokeVoidAsync("detach", root);
                await module.DisposeAsync();
            }
            catch (Exception e) when (e is JSException or JSDisconnectedException or TaskCanceledException)
            {
            }
        }
        self?.Dispose();
    }
}
