using MedSeg.Engine.Metrics;

namespace MedSeg.Engine.Inference;

/// <summary>Per-case result of predicting a labeled case. <paramref name="PredictionPath"/> is the written 0/255 PNG mask (label
/// indices for a multi-class model, whose Dice, IoU, precision and recall are the means over the foreground classes).</summary>
/// <param name="ClassDice">Multi-class models: the case's Dice of each foreground class 1 … K − 1 (index 0 = class 1; a class
/// absent from both masks scores 1, <see cref="Metrics.SegmentationMetrics"/>); null for binary.</param>
public sealed record CasePrediction(string Name, string PredictionPath, double Dice, double IoU, double Precision, double Recall,
    IReadOnlyList<double>? ClassDice = null)
{
    /// <summary>HD95 and ASSD in pixels (<see cref="SurfaceDistanceConvention"/> of the evaluation); null where undefined (exactly one
    /// mask empty). Multi-class: the mean over the foreground classes where defined.</summary>
    public double? Hd95 { get; init; }
    public double? Assd { get; init; }

    /// <summary>HD95 and ASSD in mm, when the case has a pixel spacing (<see cref="Training.TrainingCase.Spacing"/>); null otherwise.</summary>
    public double? Hd95Mm { get; init; }
    public double? AssdMm { get; init; }

    /// <summary>False-positive and false-negative pixels (multi-class: summed over the foreground classes, one-vs-rest).</summary>
    public long Fp { get; init; }
    public long Fn { get; init; }

    /// <summary>True when the ground truth has no foreground (no pixel of any foreground class).</summary>
    public bool TruthEmpty { get; init; }

    /// <summary>Every metric of each foreground class 1 … K − 1; a binary task has one row, class 1.</summary>
    public IReadOnlyList<ClassCaseScore> Classes { get; init; } = [];
}

/// <summary>One case's metrics of one class (<see cref="CaseMetrics"/>): overlap metrics by the empty-mask policy of
/// <see cref="SegmentationMetrics"/>, surface distances in pixels and (with spacing) mm, null where undefined.</summary>
public sealed record ClassCaseScore(int Class, double Dice, double IoU, double Precision, double Recall,
    double? Hd95, double? Assd, double? Hd95Mm, double? AssdMm, long Fp, long Fn, bool TruthEmpty)
{
    /// <summary>The score of one class from its metrics in pixels and, when the case has a spacing, in mm.</summary>
    public static ClassCaseScore From(int classIndex, CaseMetrics pixels, CaseMetrics? mm) => new(classIndex,
        pixels.Dice.Value, pixels.IoU.Value, pixels.Precision.Value, pixels.Recall.Value,
        Defined(pixels.Hd95), Defined(pixels.Assd), mm is null ? null : Defined(mm.Hd95), mm is null ? null : Defined(mm.Assd),
        pixels.Counts.Fp, pixels.Counts.Fn, pixels.Counts.TruthPositives == 0);

    /// <summary>The value, or null when the metric is undefined (NaN) for the case.</summary>
    public static double? Defined(MetricValue v) => v.IsDefined ? v.Value : null;
}

/// <summary>A prediction before its decision: probabilities (sigmoid for one class, softmax otherwise) at the image's original
/// size, channel-major (<paramref name="Values"/>[c × H × W + y × W + x]).</summary>
public sealed record ProbabilityMap(int Channels, int Width, int Height, float[] Values);
