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
    /// <summary>The version history, oldest first (filled by a dataset's detail, <c>GET /api/datasets/{id}</c>; empty in lists).</summary>
    public IReadOnlyList<DatasetVersionSummary> Versions { get; init; } = [];
    /// <summary>The saved splits of any of its versions, newest first.</summary>
    public IReadOnlyList<SavedSplitSummary> Splits { get; init; } = [];
    /// <summary>The latest version's fingerprint (sizes, spacing, intensities, class balance, groups); null until computed.</summary>
    public VersionFingerprint? Fingerprint { get; init; }
    /// <summary>How a volume dataset was imported (null for 2D images).</summary>
    public VolumeSourceSummary? Volumes { get; init; }
}

public sealed record DatasetCaseSummary(Guid Id, string Name, int Width, int Height, double ForegroundFraction)
{
    /// <summary>Bit k set when label k occurs in the mask.</summary>
    public int LabelsPresent { get; init; }
    /// <summary>The source volume (slices of one volume), or null.</summary>
    public string? GroupKey { get; init; }
    public int? SliceIndex { get; init; }
}

/// <summary>How the case grid sorts.</summary>
public enum CaseSort
{
    Name,
    ForegroundAscending,
    ForegroundDescending,
}

/// <summary>Which side of a saved split's fold a case is on.</summary>
public enum SplitSide
{
    Train,
    Validation,
    Test,
}

/// <summary>
/// Filters and sort of a dataset's cases (the grid, <c>GET /api/datasets/{id}/cases</c>). Null filters are off.
/// </summary>
/// <param name="Label">Only cases whose mask holds this label (1 … K − 1).</param>
/// <param name="Empty">true: only cases with an empty mask; false: only cases with foreground.</param>
/// <param name="Group">Only the slices of this source volume.</param>
/// <param name="Search">Only names containing this text (case-insensitive).</param>
/// <param name="SplitId">With <paramref name="Side"/>: only the cases on that side of fold <paramref name="Fold"/> of this saved split.</param>
/// <param name="Version">The dataset version whose cases are listed; null = the latest.</param>
public sealed record CaseQuery(int? Label = null, bool? Empty = null, string? Group = null, string? Search = null,
    CaseSort Sort = CaseSort.Name, Guid? SplitId = null, int Fold = 0, SplitSide? Side = null, int? Version = null)
{
    public static CaseQuery All { get; } = new();
}

/// <summary>A page of cases and how many match the query in all.</summary>
public sealed record CasePage(IReadOnlyList<DatasetCaseSummary> Cases, int Total);

/// <summary>One immutable version: its number, the SHA-256 over its sorted case hashes, how many cases, what changed.</summary>
/// <param name="CreatedBy">Display name (or email) of whoever made it.</param>
public sealed record DatasetVersionSummary(int Number, string ContentHash, int Cases, string Note, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>What adding or removing cases answers: the dataset's new version.</summary>
public sealed record VersionCreated(Guid Id, int Version, int Cases, string ContentHash, int Added, int Removed);

/// <summary>Body of <c>POST /api/datasets/{id}/cases/remove</c>: the cases of the latest version to leave out of the next.</summary>
public sealed record RemoveCasesRequest(IReadOnlyList<Guid>? CaseIds, string? Note = null);

/// <summary>How a change to a dataset's cases ended: a new version, or refused (problems naming the file or case; nothing
/// stored), or over the storage quota, or not visible (404) / read-only (403).</summary>
public sealed record VersionResult(VersionCreated? Version, IReadOnlyList<DatasetProblem> Problems, Quotas.StorageRefusal? OverQuota = null,
    bool NotFound = false, bool Forbidden = false);

/// <summary>The outcome of an upload: a committed dataset, or the problems (nothing stored), or that it unpacked to more
/// than the owner's storage quota leaves (nothing stored).</summary>
public sealed record IngestResult(DatasetSummary? Dataset, IReadOnlyList<DatasetProblem> Problems, Quotas.StorageRefusal? OverQuota = null)
{
    public bool Succeeded => Dataset is not null;
    /// <summary>Stored without the bad cases: the files the problems named, which are not in the dataset.</summary>
    public IReadOnlyList<string> LeftOut { get; init; } = [];
    /// <summary>The user (or the caller's review) refused the upload after seeing its report.</summary>
    public bool Refused { get; init; }
}

/// <summary>Where an ingest is (for progress bars): unpacking entries, checking pairs, waiting for a decision, committing.</summary>
public enum IngestStage
{
    Unpacking,
    Validating,
    Committing,
}

public sealed record IngestProgress(IngestStage Stage, int Done, int Total);

/// <summary>What the user decides on a validated upload: store it (with the valid cases only when there are problems, a
/// name and the class map as edited), or refuse it.</summary>
public sealed record IngestDecision(bool Admit, string? Name = null, IReadOnlyList<ClassEntry>? Classes = null)
{
    public static IngestDecision Refuse { get; } = new(false);
}

/// <summary>A validated upload awaiting the user's decision: how many cases are valid, the problems, the classes found and
/// the class map proposed, and which files admitting it would leave out.</summary>
public sealed record IngestReview(int ValidCases, IReadOnlyList<DatasetProblem> Problems, int Classes, IReadOnlyList<ClassEntry> ClassMap,
    IReadOnlyList<string> LeftOut);

/// <param name="AdmitValid">With problems, store the valid cases anyway (the API's <c>admit=valid</c>).</param>
/// <param name="Review">Asked after validation when there are problems, or a label map (its class map to confirm), or
/// always with <paramref name="ReviewAlways"/>; null = decide by <paramref name="AdmitValid"/> alone.</param>
/// <param name="Progress">Stage and counts, from any thread; null = none.</param>
/// <param name="Classes">The class map the user supplied (the multipart field <c>classes</c>); null = the default.</param>
public sealed record IngestOptions(bool AdmitValid = false, Func<IngestReview, CancellationToken, Task<IngestDecision>>? Review = null,
    bool ReviewAlways = false, Action<IngestProgress>? Progress = null, MedSeg.Engine.Data.Volumes.VolumeImportOptions? Volumes = null,
    IReadOnlyList<ClassEntry>? Classes = null)
{
    public static IngestOptions Default { get; } = new();
}

/// <summary>Image renditions served to the browser for a case.</summary>
public enum CaseRendition
{
    Image,
    Mask,
    Overlay,
    /// <summary>The mask's classes as a transparent RGBA layer in the class colours (the case viewer's overlay).</summary>
    Labels,
}

/// <summary>The outcome of a class-map change: not found, forbidden (read-only), refused (<paramref name="Problem"/>, naming the
/// entry) or done (<paramref name="Classes"/>, the stored map).</summary>
public sealed record ClassMapResult(ManageResult Result, IReadOnlyList<ClassEntry>? Classes, string? Problem = null);
