namespace MedSeg.Engine.Data;

/// <summary>A problem a person can act on: which file (relative to the dataset root, forward slashes) and what is wrong.</summary>
public sealed record DatasetProblem(string File, string Problem);

/// <summary>A validated image/mask pair. Paths are absolute; hashes are lowercase hex SHA-256 of the file bytes.</summary>
public sealed record ScannedPair(string Name, string ImagePath, string MaskPath, int Width, int Height, int Channels,
    double ForegroundFraction, string ImageSha256, string MaskSha256);

public sealed record ScanReport(IReadOnlyList<ScannedPair> Pairs, IReadOnlyList<DatasetProblem> Problems)
{
    public bool IsValid => Problems.Count == 0 && Pairs.Count > 0;
}
