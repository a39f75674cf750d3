namespace MedSeg.Data.Entities;

/// <summary>An immutable dataset version: committed only after every pair validated.</summary>
public sealed class Dataset
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string OwnerId { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    public int CaseCount { get; set; }
    /// <summary>Binary segmentation for now: 1 foreground class.</summary>
    public int Classes { get; set; } = 1;
    public int Channels { get; set; }
    public int MinWidth { get; set; }
    public int MaxWidth { get; set; }
    public int MinHeight { get; set; }
    public int MaxHeight { get; set; }
    public double MeanForeground { get; set; }
    /// <summary>SHA-256 over the sorted per-case hashes: identifies the content of this version.</summary>
    public required string ContentHash { get; set; }
    public long SizeBytes { get; set; }
    public List<DatasetCase> Cases { get; set; } = [];
}
