namespace MedSeg.Data.Entities;

public enum CaseSplit
{
    Train = 0,
    Validation = 1,
    /// <summary>The split's fixed test cases: never trained or validated on; scored after training.</summary>
    Test = 2,
}

/// <summary>The exact split snapshotted at launch, and the per-case evaluation results once predicted.</summary>
public sealed class ExperimentCase
{
    public Guid Id { get; set; }
    public Guid ExperimentId { get; set; }
    public Guid DatasetCaseId { get; set; }
    public DatasetCase? DatasetCase { get; set; }
    public CaseSplit Split { get; set; }
    public bool IsPreview { get; set; }
    public double? Dice { get; set; }
    public double? IoU { get; set; }
    public double? Precision { get; set; }
    public double? Recall { get; set; }
    /// <summary>Multi-class: the Dice of each foreground class 1 … K − 1, JSON array (null entries: the class is absent from
    /// both masks); null for binary.</summary>
    public string? ClassDiceJson { get; set; }
    /// <summary>HD95 and ASSD in pixels (the evaluation's convention, medpy by default), and in mm when the case has a pixel
    /// spacing; null where undefined (exactly one mask empty) or unknown. Label maps: the means over the classes that have them.</summary>
    public double? Hd95 { get; set; }
    public double? Assd { get; set; }
    public double? Hd95Mm { get; set; }
    public double? AssdMm { get; set; }
    /// <summary>False-positive and false-negative pixel counts (label maps: summed over the foreground classes).</summary>
    public long? FalsePositives { get; set; }
    public long? FalseNegatives { get; set; }
    /// <summary>Every metric of each foreground class, JSON array of rows (<c>ClassCaseScore</c>); null before the evaluation.</summary>
    public string? ClassMetricsJson { get; set; }
    /// <summary>Relative to the experiment folder in the artifact store.</summary>
    public string? PredictionPath { get; set; }
}
