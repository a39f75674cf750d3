using System.Globalization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using MedSeg.Web.Features.Shared;

namespace MedSeg.Web.Features.Experiments.Pages;

public sealed partial class CaseResultTable
{
    /// <summary>The sort key of the case-name column; metric columns sort by <see cref="ReviewColumn.Key"/>, class columns by "class-k".</summary>
    public const string NameKey = "name";

    [Parameter, EditorRequired] public IReadOnlyList<CaseResultView> Cases { get; set; } = [];
    [Parameter] public CaseResultView? Selected { get; set; }
    [Parameter] public EventCallback<CaseResultView> SelectedChanged { get; set; }
    [Parameter] public string MaxHeight { get; set; } = "42vh";
    /// <summary>The dataset's class map: a label map gets a Dice column per foreground class.</summary>
    [Parameter] public IReadOnlyList<MedSeg.Web.Features.Datasets.ClassEntry> Classes { get; set; } = [];
    /// <summary>Show the per-class column of this class value only (null: every class).</summary>
    [Parameter] public int? ClassFilter { get; set; }

    private IReadOnlyList<ReviewColumn> MetricColumns => ReviewTable.Columns(Cases);

    private IEnumerable<MedSeg.Web.Features.Datasets.ClassEntry> ClassColumns =>
        Cases.Any(c => c.ClassDice is not null)
            ? Classes.Where(c => c.Value > 0 && (ClassFilter is null || c.Value == ClassFilter)).OrderBy(c => c.Value)
            : [];

    /// <summary>A case's Dice of class <paramref name="value"/> (1 … K − 1), or null.</summary>
    public static double? ClassValue(CaseResultView c, int value) =>
        c.ClassDice is { } d && value >= 1 && d.Count >= value ? d[value - 1] : null;

    private static string ClassKey(int value) => $"class-{value}";

    /// <summary>Counts as integers, metrics with three decimals, undefined as a dash.</summary>
    private static string Cell(ReviewColumn column, CaseResultView c) =>
        column == ReviewTable.Fp || column == ReviewTable.Fn
            ? column.Value(c) is { } n ? ((long)n).ToString("N0", CultureInfo.InvariantCulture) : "—"
            : Format.Metric(column.Value(c));

    private string? sortKey;
    private bool descending;
    private IReadOnlyList<CaseResultView> sorted = [];

    protected override void OnParametersSet() => sorted = Sort(Cases, sortKey, descending);

    private void SortBy(string key)
    {
        // First click: the natural order for review (worst first: lowest overlap, largest distance or error count; A–Z for
        // names); a second click on the same column reverses it.
        var worstFirst = ReviewTable.All.FirstOrDefault(c => c.Key == key)?.LowerIsBetter == true;
        descending = key == sortKey ? !descending : worstFirst;
        sortKey = key;
        sorted = Sort(Cases, sortKey, descending);
    }

    /// <summary>Sorts by a column key (null: the given order); cases without a value always come last.</summary>
    public static IReadOnlyList<CaseResultView> Sort(IReadOnlyList<CaseResultView> cases, string? key, bool descending)
    {
        if (key is null) return cases;
        if (key == NameKey)
        {
            return descending
                ? [.. cases.OrderByDescending(c => c.Name, StringComparer.OrdinalIgnoreCase)]
                : [.. cases.OrderBy(c => c.Name, StringComparer.OrdinalIgnoreCase)];
        }
        Func<CaseResultView, double?> value = key.StartsWith("class-", StringComparison.Ordinal)
            && int.TryParse(key.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var k)
            ? c => ClassValue(c, k)
            : ReviewTable.All.FirstOrDefault(c => c.Key == key)?.Value ?? (c => c.Dice);
        var ordered = cases.OrderBy(c => value(c) is null);
        return descending ? [.. ordered.ThenByDescending(value)] : [.. ordered.ThenBy(value)];
    }

    private string Arrow(string key) => key != sortKey ? "" : descending ? "▼" : "▲";

    private string? AriaSort(string key) => key != sortKey ? null : descending ? "descending" : "ascending";

    private async Task OnKey(KeyboardEventArgs e, CaseResultView c)
    {
        if (e.Key is "Enter" or " ") await SelectedChanged.InvokeAsync(c);
    }
}
