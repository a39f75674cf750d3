namespace MedSeg.Data.Entities;

/// <summary>One immutable version of a dataset: which cases it holds follows from <see cref="DatasetCase.AddedInVersion"/>
/// and <see cref="DatasetCase.RemovedInVersion"/>; <see cref="ContentHash"/> is SHA-256 over its sorted case hashes.</summary>
public sealed class DatasetVersion
{
    public Guid Id { get; set; }
    public Guid DatasetId { get; set; }
    public int Number { get; set; }
    public required string ContentHash { get; set; }
    public int CaseCount { get; set; }
    /// <summary>What changed, for the history ("first upload of kvasir.zip", "+40 cases from more.zip", "−3 cases").</summary>
    public required string Note { get; set; }
    public required string CreatedById { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    /// <summary>The fingerprint of this version (sizes, spacing, intensities per channel, class balance, empty masks, cases per
    /// group), JSON; null until computed.</summary>
    public string? FingerprintJson { get; set; }
}
