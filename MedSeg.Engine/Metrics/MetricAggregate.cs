namespace MedSeg.Engine.Metrics;

/// <summary>
/// One metric aggregated over (case, class) values. <see cref="Mean"/>, <see cref="Median"/> and <see cref="Std"/> (population,
/// ddof 0, as <c>numpy.std</c>) are over the <see cref="Included"/> values only; all three are NaN when none is included.
/// <see cref="Excluded"/> counts the undefined values left out, broken down by reason in <see cref="ExcludedByReason"/>.
/// <see cref="IncludedByReason"/> says how many included values came from an empty-mask rule rather than the plain formula
/// (e.g. BothEmpty: 3 → three cases scored Dice 1 because truth and prediction were both empty).
/// </summary>
public sealed record MetricAggregate(
    double Mean,
    double Median,
    double Std,
    int Included,
    int Excluded,
    IReadOnlyDictionary<EmptyReason, int> IncludedByReason,
    IReadOnlyDictionary<EmptyReason, int> ExcludedByReason)
{
    /// <summary>Aggregates values; undefined ones (NaN) are excluded, and so are both-empty ones when <paramref name="excludeBothEmpty"/>.</summary>
    public static MetricAggregate From(IEnumerable<MetricValue> values, bool excludeBothEmpty = false)
    {
        var included = new List<double>();
        var includedBy = new SortedDictionary<EmptyReason, int>();
        var excludedBy = new SortedDictionary<EmptyReason, int>();
        foreach (var v in values)
        {
            if (!v.IsDefined || (excludeBothEmpty && v.Reason == EmptyReason.BothEmpty))
            {
                excludedBy[v.Reason] = excludedBy.GetValueOrDefault(v.Reason) + 1;
                continue;
            }
            included.Add(v.Value);
            if (v.Reason != EmptyReason.None) includedBy[v.Reason] = includedBy.GetValueOrDefault(v.Reason) + 1;
        }
        var excluded = excludedBy.Values.Sum();
        if (included.Count == 0)
            return new MetricAggregate(double.NaN, double.NaN, double.NaN, 0, excluded, includedBy, excludedBy);
        var mean = included.Average();
        var std = Math.Sqrt(included.Sum(x => (x - mean) * (x - mean)) / included.Count);
        included.Sort();
        var mid = included.Count / 2;
        var median = included.Count % 2 == 1 ? included[mid] : (included[mid - 1] + included[mid]) / 2;
        return new MetricAggregate(mean, median, std, included.Count, excluded, includedBy, excludedBy);
    }
}
