namespace MedSeg.Web.Features.Experiments;

/// <summary>Which mask of an evaluated case the review viewer reads as labels.</summary>
public enum LabelSource
{
    Truth,
    Prediction,
}

/// <summary>
/// The raw labels of an evaluated case's ground truth and prediction, for the review viewer to draw per class, as fill or
/// contour, with TP, FP and FN, in the browser: an 8-bit grey PNG whose values are the labels (0 background). Served
/// through the experiment's artifact route (<c>files/labels/{case}/{truth|prediction}.png</c>), so whoever may see the
/// experiment sees them and nobody else, exactly like its other renditions.
/// </summary>
public static class ReviewLabels
{
    public const string Folder = "labels";

    /// <summary>URL of a case's labels, longest side at most <paramref name="size"/> (resized nearest-neighbour).</summary>
    public static string Url(Guid experimentId, Guid caseId, LabelSource source, int size) =>
        ExperimentService.FileUrl(experimentId, $"{Folder}/{caseId:N}/{source.ToString().ToLowerInvariant()}.png", size);

    /// <summary>The case and the mask a <c>labels/…</c> artifact path names; null when it names none.</summary>
    public static (Guid CaseId, LabelSource Source)? Parse(string path)
    {
        var parts = path.Split('/');
        if (parts.Length != 3 || parts[0] != Folder || !Guid.TryParseExact(parts[1], "N", out var caseId)
            || !parts[2].EndsWith(".png", StringComparison.Ordinal)
            || !Enum.TryParse<LabelSource>(parts[2][..^4], ignoreCase: true, out var source)
            || int.TryParse(parts[2][..^4], out _)) return null;
        return (caseId, source);
    }
}
