namespace MedSeg.Data.Entities;

/// <summary>A dataset: its cases, and the immutable versions they form (<see cref="Versions"/>). Adding or removing cases
/// makes a new version; the columns below describe the latest one (<see cref="Version"/>).</summary>
public sealed class Dataset
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string OwnerId { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    public int CaseCount { get; set; }
    /// <summary>The model's output classes: 1 for a binary dataset (one sigmoid logit), K ≥ 3 for a label map (background
    /// included, labels 0 … K − 1).</summary>
    public int Classes { get; set; } = 1;
    /// <summary>The class map, JSON <c>[{"value":0,"name":"background","colour":"#000000"}, …]</c>, background first; read and
    /// written only through <c>ClassMap</c> (web). null for datasets stored before class maps (binary: background, foreground).</summary>
    public string? ClassMapJson { get; set; }
    /// <summary>The latest version's number (1 at the first upload).</summary>
    public int Version { get; set; } = 1;
    /// <summary>"images" (2D files) or "volumes" (NIfTI volumes sliced to 2D; the originals kept under <c>volumes/</c>).</summary>
    public string Source { get; set; } = "images";
    /// <summary>For volume datasets: how they were sliced and what the volumes hold (format, axis, empty-slice rule, channel
    /// names), JSON; null for 2D datasets.</summary>
    public string? SourceJson { get; set; }
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
    public List<DatasetVersion> Versions { get; set; } = [];
}
