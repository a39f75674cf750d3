namespace MedSeg.Engine.Data;

/// <summary>
/// The one rule set by which <see cref="DatasetScanner"/> finds a dataset's folders and pairs each image with its masks
/// (docs/datasets.md, "Pairing"). Names compare case-insensitively; anything the rules leave open is a problem the scanner
/// reports by file, never a guess.
/// <list type="number">
/// <item>Folders: an image folder (<see cref="ImageFolders"/>) beside a mask folder (<see cref="MaskFolders"/>), at the
/// dataset's top or one folder below; or, with no such folders, images and masks side by side in the top folder and in
/// each folder directly below it (one folder per class, as BUSI).</item>
/// <item>Names: a mask is <c>&lt;stem&gt;.*</c> (in a separate mask folder only) or <c>&lt;stem&gt;&lt;suffix&gt;.*</c> with a
/// suffix of <see cref="MaskSuffixes"/>, optionally numbered <c>_1</c>, <c>_2</c>, …. In a shared folder a file whose name
/// ends in a suffix is a mask, every other file an image.</item>
/// <item>Several masks by the same rule for one image are united (logical OR) when they are binary; label maps are refused.</item>
/// </list>
/// </summary>
public static class PairingRules
{
    /// <summary>Names of an image folder.</summary>
    public static readonly IReadOnlyList<string> ImageFolders = ["images", "image", "imgs", "img", "input"];

    /// <summary>Names of a mask folder.</summary>
    public static readonly IReadOnlyList<string> MaskFolders =
        ["masks", "mask", "labels", "label", "gt", "ground_truth", "annotations", "segmentations"];

    /// <summary>What a mask's file name may add to its image's stem (then optionally <c>_N</c>).</summary>
    public static readonly IReadOnlyList<string> MaskSuffixes = ["_mask", "_seg", "_segmentation", "_label", "_labels", "_gt", "-mask", " mask"];

    /// <summary>The rule of a mask named exactly like its image (separate mask folders only).</summary>
    public const string SameName = "";

    public static bool IsImageFolder(string name) => ImageFolders.Contains(name, StringComparer.OrdinalIgnoreCase);

    public static bool IsMaskFolder(string name) => MaskFolders.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The image stem a mask's stem names by a suffix, and the suffix as listed in <see cref="MaskSuffixes"/>
    /// (<c>"benign (4)_mask_1"</c> → <c>("benign (4)", "_mask")</c>); null when the stem ends in no suffix.</summary>
    public static (string ImageStem, string Suffix)? BySuffix(string maskStem)
    {
        var name = maskStem;
        var underscore = name.LastIndexOf('_');
        if (underscore > 0 && underscore < name.Length - 1 && !name.AsSpan(underscore + 1).ContainsAnyExceptInRange('0', '9'))
            name = name[..underscore]; // a numbered mask: _1, _2, … (no suffix ends in a digit, so nothing else is lost)
        foreach (var suffix in MaskSuffixes)
        {
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                return (name[..^suffix.Length], suffix);
        }
        return null;
    }

    /// <summary>True when a file of a shared folder is a mask: its stem ends in a mask suffix.</summary>
    public static bool IsMaskName(string stem) => BySuffix(stem) is not null;

    /// <summary>The rule as people read it: <c>"the same name"</c> or <c>"the suffix '_mask'"</c>.</summary>
    public static string Describe(string rule) => rule == SameName ? "the same name" : $"the suffix '{rule}'";

    /// <summary>The suffixes as a message lists them.</summary>
    public static string SuffixList => string.Join(", ", MaskSuffixes.Select(s => $"'{s}'"));
}
