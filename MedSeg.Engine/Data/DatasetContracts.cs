namespace MedSeg.Engine.Data;

/// <summary>A problem a person can act on: which file (relative to the dataset root, forward slashes) and what is wrong.</summary>
public sealed record DatasetProblem(string File, string Problem);

/// <summary>A validated image/mask pair. Paths are absolute; hashes are lowercase hex SHA-256 of the file bytes.
/// <paramref name="ForegroundFraction"/> counts every non-zero label; <paramref name="MaxLabel"/> is the mask's largest
/// label (0 empty, 1 binary, ≥ 2 a label map). <paramref name="Name"/> is the image's file name without extension,
/// unique in a scan. When the image has several masks (see <see cref="PairingRules"/>), <paramref name="MaskPath"/> is
/// their union, written by the scanner as a PNG outside the dataset, and <paramref name="MergedFrom"/> lists the dataset's
/// mask files it was made of; every consumer reads <paramref name="MaskPath"/> alone.</summary>
public sealed record ScannedPair(string Name, string ImagePath, string MaskPath, int Width, int Height, int Channels,
    double ForegroundFraction, string ImageSha256, string MaskSha256, MaskEncoding MaskEncoding = MaskEncoding.Binary255, int MaxLabel = 1,
    IReadOnlyList<string>? MergedFrom = null)
{
    /// <summary>The dataset's mask files of this pair: <see cref="MergedFrom"/> for a united mask, else <see cref="MaskPath"/>.</summary>
    public IReadOnlyList<string> MaskFiles => MergedFrom ?? [MaskPath];

    /// <summary>The non-zero labels of the mask as bits (bit k: label k occurs; binary masks: bit 1 when there is foreground).</summary>
    public uint LabelSet { get; init; }

    /// <summary>The image's pixel spacing in mm when its file states one (DICOM), else null.</summary>
    public PixelSpacing? Spacing { get; init; }
}

/// <param name="Classes">1 for a binary dataset (one foreground class, one logit); K ≥ 3 for a label-map dataset, background
/// included (K = 1 + the largest label of any mask).</param>
public sealed record ScanReport(IReadOnlyList<ScannedPair> Pairs, IReadOnlyList<DatasetProblem> Problems, int Classes = 1)
{
    public bool IsMultiClass => Classes > 1;

    public bool IsValid => Problems.Count == 0 && Pairs.Count > 0;
}
