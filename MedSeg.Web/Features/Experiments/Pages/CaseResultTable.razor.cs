using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;

namespace MedSeg.Web.Features.Experiments.Pages;

public sealed partial class CaseResultTable
{
    public enum SortKey
    {
        None,
        Name,
        Dice,
        IoU,
        Precision,
        Recall,
    }

    private static readonly (SortKey Key, string Title)[] Columns =
        [(SortKey.Name, "Case"), (SortKey.Dice, "Dice"), (SortKey.IoU, "IoU"), (SortKey.Precision, "Precision"), (SortKey.Recall, "Recall")];

    [Parameter, EditorRequired] public IReadOnlyList<CaseResultView> Cases { get; set; } = [];
    [Parameter] public CaseResultView? Selected { get; set; }
    [Parameter] public EventCallback<CaseResultView> SelectedChanged { get; set; }
    [Parameter] public string MaxHeight { get; set; } = "42vh";

    private SortKey sortKey = SortKey.None;
    private bool descending;
    private IReadOnlyList<CaseResultView> sorted = [];

    protected override void OnParametersSet() => sorted = Sort(Cases, sortKey, descending);

    private void SortBy(SortKey key)
    {
        // First click: the natural order for review (worst first for metrics, A–Z for names); second click reverses.
        descending = key == sortKey && !descending;
        sortKey = key;
        sorted = Sort(Cases, sortKey, descending);
    }

    /// <summary>Sorts by a column; cases without a value always come last.</summary>
    public static IReadOnlyList<CaseResultView> Sort(IReadOnlyList<CaseResultView> cases, SortKey key, bool descending)
    {
        if (key == SortKey.None) return cases;
        if (key == SortKey.Name)
        {
            return descending
                ? [.. cases.OrderByDescending(c => c.Name, StringComparer.OrdinalIgnoreCase)]
                : [.. cases.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)];
        }
        Func<CaseResultView, double?> value = key switch
        {
            SortKey.Dice => c => c.Dice,
            SortKey.IoU => c => c.IoU,
            SortKey.Precision => c => c.Precision,
            _ => c => c.Recall,
        };
        var ordered = cases.OrderBy(c => value(c) is null);
        return descending ? [.. ordered.ThenByDescending(value)] : [.. ordered.ThenBy(value)];
    }

    private string Arrow(SortKey key) => key != sortKey ? "" : descending ? "▼" : "▲";

    private string? AriaSort(SortKey key) => key != sortKey ? null : descending ? "descending" : "ascending";

    private async Task OnKey(KeyboardEventArgs e, CaseResultView c)
    {
        if (e.Key is "Enter" or " ") await SelectedChanged.InvokeAsync(c);
    }
}
