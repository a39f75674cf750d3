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
        /// <summary>The Dice of one foreground class (<c>sortClass</c>).</summary>
        ClassDice,
    }

    private static readonly (SortKey Key, string Title)[] Columns =
        [(SortKey.Name, "Case"), (SortKey.Dice, "Dice"), (SortKey.IoU, "IoU"), (SortKey.Precision, "Precision"), (SortKey.Recall, "Recall")];

    [Parameter, EditorRequired] public IReadOnlyList<CaseResultView> Cases { get; set; } = [];
    [Parameter] public CaseResultView? Selected { get; set; }
    [Parameter] public EventCallback<CaseResultView> SelectedChanged { get; set; }
    [Parameter] public string MaxHeight { get; set; } = "42vh";
    /// <summary>The dataset's class map: a label map gets a Dice column per foreground class.</summary>
    [Parameter] public IReadOnlyList<MedSeg.Web.Features.Datasets.ClassEntry> Classes { get; set; } = [];
    /// <summary>Show the per-class column of this class value only (null: every class).</summary>
    [Parameter] public int? ClassFilter { get; set; }

    private int sortClass;

    private IEnumerable<MedSeg.Web.Features.Datasets.ClassEntry> ClassColumns =>
        Cases.Any(c => c.ClassDice is not null)
            ? Classes.Where(c => c.Value > 0 && (ClassFilter is null || c.Value == ClassFilter)).OrderBy(c => c.Value)
            : [];

    /// <summary>A case's Dice of class <paramref name="value"/> (1 … K − 1), or null.</summary>
    public static double? ClassValue(CaseResultView c, int value) =>
        c.ClassDice is { } d && value >= 1 && d.Count >= value ? d[value - 1] : null;

    private void SortByClass(int value)
    {
        descending = sortKey == SortKey.ClassDice && sortClass == value && !descending;
        (sortKey, sortClass) = (SortKey.ClassDice, value);
        sorted = Sort(Cases, sortKey, descending, sortClass);
    }

    private string ClassArrow(int value) => sortKey == SortKey.ClassDice && sortClass == value ? (descending ? "▼" : "▲") : "";

    private SortKey sortKey = SortKey.None;
    private bool descending;
    private IReadOnlyList<CaseResultView> sorted = [];

    protected override void OnParametersSet() => sorted = Sort(Cases, sortKey, descending, sortClass);

    private void SortBy(SortKey key)
    {
        // First click: the natural order for review (worst first for metrics, A–Z for names); second click reverses.
        descending = key == sortKey && !descending;
        sortKey = key;
        sorted = Sort(Cases, sortKey, descending);
    }

    /// <summary>Sorts by a column; cases without a value always come last.</summary>
    public static IReadOnlyList<CaseResultView> Sort(IReadOnlyList<CaseResultView> cases, SortKey key, bool descending, int classValue = 0)
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
            SortKey.ClassDice => c => ClassValue(c, classValue),
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
