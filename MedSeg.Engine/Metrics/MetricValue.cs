namespace MedSeg.Engine.Metrics;

/// <summary>
/// One metric of one case and class. <see cref="Value"/> is <see cref="double.NaN"/> when the metric is undefined for this case
/// (then <see cref="IsDefined"/> is false and aggregates exclude it); <see cref="Reason"/> names the empty-mask rule that applied.
/// </summary>
public readonly record struct MetricValue(double Value, EmptyReason Reason)
{
    public bool IsDefined => !double.IsNaN(Value);

    public static MetricValue Of(double value) => new(value, EmptyReason.None);

    public static MetricValue Undefined(EmptyReason reason) => new(double.NaN, reason);

    public override string ToString() =>
        IsDefined ? (Reason == EmptyReason.None ? $"{Value:G6}" : $"{Value:G6} ({Reason})") : $"undefined ({Reason})";
}
