using System.Globalization;
using System.Text;
using MedSeg.Engine.Metrics;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// What the review's case table shows: <see cref="Class"/> (null: the case's own metrics, the means over the foreground classes;
/// a class value: that class's row of every case), <see cref="EmptyTruth"/> (null: every case; true: only cases whose ground
/// truth, of that class when one is chosen, is empty; false: only the others) and <see cref="DiceBelow"/> (only cases scoring
/// Dice below it). The page, its CSV link and <c>GET /api/experiments/{id}/cases.csv</c> share it.
/// </summary>
public sealed record ReviewFilter(int? Class = null, bool? EmptyTruth = null, double? DiceBelow = null)
{
    public static ReviewFilter None { get; } = new();

    /// <summary>The filtered rows, worst Dice first (cases without a Dice last, then by name).</summary>
    public IReadOnlyList<CaseResultView> Apply(IEnumerable<CaseResultView> cases) =>
        [.. cases.Select(c => Class is int k ? ForClass(c, k) : c)
            .Where(c => c is not null && (EmptyTruth is not bool e || c.TruthEmpty == e) && (DiceBelow is not double x || c.Dice < x))
            .Select(c => c!)
            .OrderBy(c => c.Dice is null).ThenBy(c => c.Dice).ThenBy(c => c.Name, StringComparer.Ordinal)];

    /// <summary>The case with the metrics of class <paramref name="k"/> in place of its own. A label-map case evaluated before
    /// per-class rows were stored has the class's Dice only (the rest undefined); null when the case has nothing of the class.</summary>
    public static CaseResultView? ForClass(CaseResultView c, int k)
    {
        if (c.Classes.FirstOrDefault(r => r.Class == k) is not { } r)
        {
            return c.ClassDice is { } dice && k >= 1 && k <= dice.Count
                ? c with { Dice = dice[k - 1], IoU = null, Precision = null, Recall = null, Hd95 = null, Assd = null, Hd95Mm = null, AssdMm = null, Fp = null, Fn = null }
                : null;
        }
        return c with
        {
            Dice = r.Dice, IoU = r.IoU, Precision = r.Precision, Recall = r.Recall,
            Hd95 = r.Hd95, Assd = r.Assd, Hd95Mm = r.Hd95Mm, AssdMm = r.AssdMm, Fp = r.Fp, Fn = r.Fn, TruthEmpty = r.TruthEmpty,
        };
    }

    /// <summary>The foreground classes the cases can be filtered by: those with per-class rows, or with a per-class Dice.</summary>
    public static IReadOnlyList<int> ClassesOf(IEnumerable<CaseResultView> cases) =>
        [.. cases.SelectMany(c => c.Classes.Count > 0 ? c.Classes.Select(r => r.Class) : Enumerable.Range(1, c.ClassDice?.Count ?? 0)).Distinct().Order()];

    /// <summary>The query string of the CSV route for this filter ("" for none).</summary>
    public string Query()
    {
        var parts = new List<string>();
        if (Class is int k) parts.Add($"class={k}");
        if (EmptyTruth is bool e) parts.Add($"emptyTruth={(e ? "true" : "false")}");
        if (DiceBelow is double x) parts.Add($"diceBelow={x.ToString(CultureInfo.InvariantCulture)}");
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}

/// <summary>One numeric column of the review's case table (and of its CSV and statistics).</summary>
/// <param name="Key">The sort key and CSV header.</param>
/// <param name="LowerIsBetter">Distances and error counts: the worst come first when sorted by this column.</param>
public sealed record ReviewColumn(string Key, string Title, string Description, Func<CaseResultView, double?> Value, bool LowerIsBetter = false)
{
    /// <summary>Mean, median and std (population, ddof 0) over the cases that have the value (<see cref="MetricAggregate"/>).</summary>
    public MetricAggregate Statistics(IEnumerable<CaseResultView> cases) =>
        MetricAggregate.From(cases.Select(Value).Select(v => v is { } x && double.IsFinite(x) ? MetricValue.Of(x) : MetricValue.Undefined(EmptyReason.None)));
}

public static class ReviewTable
{
    public static readonly ReviewColumn Dice = new("dice", "Dice", "Dice", c => c.Dice);
    public static readonly ReviewColumn IoU = new("iou", "IoU", "IoU (Jaccard)", c => c.IoU);
    public static readonly ReviewColumn Precision = new("precision", "Precision", "precision", c => c.Precision);
    public static readonly ReviewColumn Recall = new("recall", "Recall", "recall (sensitivity)", c => c.Recall);
    public static readonly ReviewColumn Hd95 = new("hd95", "HD95 px", "95th percentile Hausdorff distance in pixels", c => c.Hd95, true);
    public static readonly ReviewColumn Assd = new("assd", "ASSD px", "average symmetric surface distance in pixels", c => c.Assd, true);
    public static readonly ReviewColumn Hd95Mm = new("hd95Mm", "HD95 mm", "95th percentile Hausdorff distance in mm", c => c.Hd95Mm, true);
    public static readonly ReviewColumn AssdMm = new("assdMm", "ASSD mm", "average symmetric surface distance in mm", c => c.AssdMm, true);
    public static readonly ReviewColumn Fp = new("fp", "FP", "false-positive pixels", c => c.Fp, true);
    public static readonly ReviewColumn Fn = new("fn", "FN", "false-negative pixels", c => c.Fn, true);

    /// <summary>The columns for these cases: the mm columns only when some case has a spacing.</summary>
    public static IReadOnlyList<ReviewColumn> Columns(IReadOnlyList<CaseResultView> cases) =>
        cases.Any(c => c.Hd95Mm is not null || c.AssdMm is not null)
            ? [Dice, IoU, Precision, Recall, Hd95, Assd, Hd95Mm, AssdMm, Fp, Fn]
            : [Dice, IoU, Precision, Recall, Hd95, Assd, Fp, Fn];

    /// <summary>Every column, the CSV's (mm columns always present, empty without spacing).</summary>
    public static IReadOnlyList<ReviewColumn> All { get; } = [Dice, IoU, Precision, Recall, Hd95, Assd, Hd95Mm, AssdMm, Fp, Fn];

    /// <summary>The table as CSV (RFC 4180, invariant culture, full precision; an undefined value is an empty cell), in the
    /// given order: case, class (empty for the case's own metrics), truth_empty, then every column.</summary>
    public static string ToCsv(IReadOnlyList<CaseResultView> rows, int? classValue = null)
    {
        var csv = new StringBuilder("case,class,truth_empty,").AppendJoin(',', All.Select(c => c.Key)).Append("\r\n");
        foreach (var r in rows)
        {
            csv.Append(Datasets.UploadReport.Cell(r.Name)).Append(',').Append(classValue?.ToString(CultureInfo.InvariantCulture))
                .Append(',').Append(r.TruthEmpty ? "yes" : "no");
            foreach (var column in All)
                csv.Append(',').Append(column.Value(r) is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "");
            csv.Append("\r\n");
        }
        return csv.ToString();
    }
}
