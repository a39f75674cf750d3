using MedSeg.Engine.Data;

namespace MedSeg.Web.Features.Datasets;

public sealed record DatasetSummary(Guid Id, string Name, int Cases, DateTimeOffset CreatedAt, string Owner,
    int MinWidth, int MaxWidth, int MinHeight, int MaxHeight, int Channels, double MeanForeground, long SizeBytes);

public sealed record DatasetCaseSummary(Guid Id, string Name, int Width, int Height, double ForegroundFraction);

/// <summary>The outcome of an upload: a committed dataset, or the problems (nothing stored).</summary>
public sealed record IngestResult(DatasetSummary? Dataset, IReadOnlyList<DatasetProblem> Problems)
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
