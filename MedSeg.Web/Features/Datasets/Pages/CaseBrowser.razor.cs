using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web.Virtualization;
using Microsoft.JSInterop;
using MudBlazor;

namespace MedSeg.Web.Features.Datasets.Pages;

/// <summary>One row of the virtualised grid.</summary>
public sealed record CaseRow(int Index, IReadOnlyList<DatasetCaseSummary> Cases);

public sealed partial class CaseBrowser
{
    /// <summary>Tile (160 px thumbnail and its caption) plus the gap below it.</summary>
    public const int RowHeight = 200;
    private const int Gap = 12;

    [Parameter, EditorRequired] public DatasetSummary Dataset { get; set; } = default!;
    [Parameter, EditorRequired] public UserContext User { get; set; } = default!;

    [Inject] private DatasetService Datasets { get; set; } = default!;
    [Inject] private IDialogService Dialogs { get; set; } = default!;
    [Inject] private IJSRuntime JS { get; set; } = default!;

    private static readonly Dictionary<string, object?> SearchAttributes = new() { ["data-testid"] = "filter-search" };
    private static readonly Dictionary<string, object?> ClassAttributes = new() { ["data-testid"] = "filter-class" };
    private static readonly Dictionary<string, object?> MaskAttributes = new() { ["data-testid"] = "filter-mask" };
    private static readonly Dictionary<string, object?> GroupAttributes = new() { ["data-testid"] = "filter-volume" };
    private static readonly Dictionary<string, object?> SplitAttributes = new() { ["data-testid"] = "filter-split" };
    private static readonly Dictionary<string, object?> SortAttributes = new() { ["data-testid"] = "case-sort" };

    private ElementReference container;
    private Virtualize<CaseRow>? virtualize;
    private IReadOnlyList<(string Group, int Cases)> groups = [];
    private int columns;
    private int total;
    private bool loadedOnce;
    private string? error;
    private string? search;
    private int? label;
    private string mask = "any";
    private string? group;
    private CaseSort sort = CaseSort.Name;
    /// <summary>"splitId|fold|side" of a saved split's side, or null.</summary>
    private string? splitSide;

    /// <summary>Changes with the class colours, so thumbnails painted in old colours are fetched again.</summary>
    private string? Revision => Dataset.Classes > 1 ? string.Concat(Dataset.ClassMap.Select(c => c.Colour.TrimStart('#'))) : null;

    private bool Filtered => !string.IsNullOrWhiteSpace(search) || label is not null || mask != "any" || group is not null || splitSide is not null;

    private string CountText => !loadedOnce ? "" : Filtered ? $"{total:N0} of {Dataset.Cases:N0} cases" : $"{total:N0} cases";

    internal CaseQuery Query
    {
        get
        {
            var parts = splitSide?.Split('|');
            return new(label, mask switch { "empty" => true, "foreground" => false, _ => null }, group, search, sort,
                parts is { Length: 3 } && Guid.TryParse(parts[0], out var id) ? id : null,
                parts is { Length: 3 } && int.TryParse(parts[1], out var fold) ? fold : 0,
                parts is { Length: 3 } && Enum.TryParse<SplitSide>(parts[2], ignoreCase: true, out var side) ? side : null);
        }
    }

    protected override async Task OnInitializedAsync()
    {
        try
        {
            groups = await Datasets.GroupsAsync(Dataset.Id, User);
            await CountAsync();
        }
        catch (Exception e)
        {
            error = e.Message;
        }
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender) return;
        double width;
        try
        {
            width = await JS.InvokeAsync<double>("medseg.elementWidth", container);
        }
        catch (Exception e) when (e is JSException or InvalidOperationException or TaskCanceledException)
        {
            width = 0;
        }
        columns = Columns(width);
        StateHasChanged();
    }

    /// <summary>Columns of 160 px tiles that fit the width (6 when it is unknown, as in a test).</summary>
    internal static int Columns(double width) => width <= 0 ? 6 : Math.Max(1, (int)((width + Gap) / (CaseGrid.TileWidth + Gap)));

    private async ValueTask<ItemsProviderResult<CaseRow>> LoadRowsAsync(ItemsProviderRequest request)
    {
        try
        {
            var page = await Datasets.QueryCasesAsync(Dataset.Id, User, Query, request.StartIndex * columns, Math.Max(1, request.Count) * columns,
                request.CancellationToken);
            error = null;
            var changed = !loadedOnce || total != page.Total;
            total = page.Total;
            loadedOnce = true;
            if (changed) _ = InvokeAsync(StateHasChanged);
            var rows = page.Cases.Chunk(columns).Select((chunk, i) => new CaseRow(request.StartIndex + i, chunk)).ToList();
            return new ItemsProviderResult<CaseRow>(rows, (total + columns - 1) / columns);
        }
        catch (OperationCanceledException)
        {
            return new ItemsProviderResult<CaseRow>([], (total + columns - 1) / Math.Max(1, columns));
        }
        catch (Exception e)
        {
            error = e.Message;
            _ = InvokeAsync(StateHasChanged);
            return new ItemsProviderResult<CaseRow>([], 0);
        }
    }

    private Task SearchChanged(string? value) => Refilter(() => search = value);
    private Task LabelChanged(int? value) => Refilter(() => label = value);
    private Task MaskChanged(string value) => Refilter(() => mask = value);
    private Task GroupChanged(string? value) => Refilter(() => group = value);
    private Task SortChanged(CaseSort value) => Refilter(() => sort = value);
    private Task SplitChanged(string? value) => Refilter(() => splitSide = value);

    /// <summary>How many cases match, whether or not the grid is in view yet (the virtualised rows load when it is).</summary>
    private async Task CountAsync()
    {
        total = (await Datasets.QueryCasesAsync(Dataset.Id, User, Query, 0, 1)).Total;
        loadedOnce = true;
    }

    private async Task Refilter(Action change)
    {
        change();
        await CountAsync();
        if (virtualize is not null) await virtualize.RefreshDataAsync();
        StateHasChanged();
    }

    /// <summary>The case at a position of the current filter and sort (the viewer's next and previous).</summary>
    private async Task<DatasetCaseSummary?> CaseAtAsync(int index)
    {
        if (index < 0 || index >= total) return null;
        return (await Datasets.QueryCasesAsync(Dataset.Id, User, Query, index, 1)).Cases.FirstOrDefault();
    }

    private async Task OpenAsync(DatasetCaseSummary item)
    {
        // Its position in the current order, so next and previous walk the grid as shown.
        var index = await Datasets.IndexOfAsync(Dataset.Id, User, Query, item.Id);
        var parameters = new DialogParameters<CaseDialog>
        {
            { d => d.Dataset, Dataset },
            { d => d.Case, item },
            { d => d.Index, index },
            { d => d.Total, total },
            { d => d.CaseAt, CaseAtAsync },
        };
        var options = new DialogOptions { MaxWidth = MaxWidth.ExtraLarge, FullWidth = true, CloseButton = true, CloseOnEscapeKey = true };
        await Dialogs.ShowAsync<CaseDialog>("Case viewer", parameters, options);
    }
}
