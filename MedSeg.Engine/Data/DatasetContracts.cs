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
    /// <summary>The dataset's mask files of this pair: <see cref="MergedFrom"/> for a united mask, <see cref="MappedFrom"/> for
    /// a colour mask, else <see cref="MaskPath"/>.</summary>
    public IReadOnlyList<string> MaskFiles => MergedFrom ?? (MappedFrom is { } colour ? [colour] : [MaskPath]);

    /// <summary>A colour mask mapped to labels (<see cref="ColourMaskMapper"/>): the dataset's colour file; <see cref="MaskPath"/>
    /// is then the label-map PNG the scanner wrote outside the dataset. null otherwise.</summary>
    public string? MappedFrom { get; init; }

    /// <summary>When the scan maps colour masks: the mask's distinct colours (<c>0xRRGGBB</c>, grey v as (v, v, v)).</summary>
    public IReadOnlyList<int>? Colours { get; init; }

    /// <summary>The non-zero labels of the mask as bits (bit k: label k occurs; binary masks: bit 1 when there is foreground).</summary>
    public uint LabelSet { get; init; }

    /// <summary>The image's pixel spacing in mm when its file states one (DICOM), else null.</summary>
    public PixelSpacing? Spacing { get; init; }
}

/// <param name="Classes">1 for a binary dataset (one foreground class, one logit); K ≥ 3 for a label-map dataset, background
/// included (K = 1 + the largest label of any mask).</param>
public sealed record ScanReport(IReadOnlyList<ScannedPair> Pairs, IReadOnlyList<DatasetProblem> Problems, int Classes = 1)
{
    /// <summary>When the masks were colour masks: the colour (<c>#rrggbb</c>) of each label 0 … K − 1 (binary: 0 and 1), the
    /// dataset's class map colours; null for grey masks.</summary>
    public IReadOnlyList<string>? ClassColours { get; init; }

    public bool IsMultiClass => Classes > 1;

    public bool IsValid => Problems.Count == 0 && Pairs.Count > 0;
}

/// <summary>How a scan reads colour (RGB, palette) masks: mapped to labels by <see cref="ColourMaskMapper"/>, the label-map
/// PNGs written to <paramref name="Folder"/> (outside the dataset, like united masks).</summary>
/// <param name="Table">The colour (<c>0xRRGGBB</c>) of each label 0 … K − 1 from a class map the user supplied; null = black,
/// then the other colours found, in increasing order.</param>
public sealed record ColourMaskOptions(string Folder, IReadOnlyList<int>? Table = null);
