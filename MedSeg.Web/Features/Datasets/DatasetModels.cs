using System.Text.Json.Serialization;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Sharing;

namespace MedSeg.Web.Features.Datasets;

/// <param name="Owner">The owner's display name (or email).</param>
/// <param name="Mine">The asking user owns it; otherwise it is shared with them (or they are an admin).</param>
/// <param name="CanManage">The asking user may share or delete it (its owner or an admin).</param>
public sealed record DatasetSummary(Guid Id, string Name, int Cases, DateTimeOffset CreatedAt, string Owner,
    int MinWidth, int MaxWidth, int MinHeight, int MaxHeight, int Channels, double MeanForeground, long SizeBytes,
    string OwnerId = "", bool Mine = true, bool CanManage = true)
{
    /// <summary>Model output classes: 1 binary, K ≥ 3 a label map (background included). JSON <c>classCount</c>.</summary>
    [JsonPropertyName("classCount")]
    public int Classes { get; init; } = 1;
    /// <summary>Value, name and colour of each class, background first. JSON <c>classes</c>.</summary>
    [JsonPropertyName("classes")]
    public IReadOnlyList<ClassEntry> ClassMap { get; init; } = Datasets.ClassMap.Default(1);
    /// <summary>The latest version's number.</summary>
    public int Version { get; init; } = 1;
    /// <summary>"images" or "volumes".</summary>
    public string Source { get; init; } = "images";
}

public sealed record DatasetCaseSummary(Guid Id, string Name, int Width, int Height, double ForegroundFraction);

/// <summary>The outcome of an upload: a committed dataset, or the problems (nothing stored), or that it unpacked to more
/// than the owner's storage quota leaves (nothing stored).</summary>
public sealed record IngestResult(DatasetSummary? Dataset, IReadOnlyList<DatasetProblem> Problems, Quotas.StorageRefusal? OverQuota = null)
{
    public bool Succeeded => Dataset is not null;
}

/// <summary>Image renditions served to the browser for a case.</summary>
public enum CaseRendition
{
    Image,
    Mask,
    Overlay,
}

/// <summary>The outcome of a class-map change: not found, forbidden (read-only), refused (<paramref name="Problem"/>, naming the
/// entry) or done (<paramref name="Classes"/>, the stored map).</summary>
public sealed record ClassMapResult(ManageResult Result, IReadOnlyList<ClassEntry>? Classes, string? Problem = null);
