using System.Text.Json;
using MedSeg.Engine.Data.Volumes;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// The originals of a volume dataset (<c>Dataset.Source = "volumes"</c>): the import keeps each source NIfTI under the
/// dataset folder's <c>volumes/</c>, and records how it sliced them in <c>Dataset.SourceJson</c>. Used for the slice spacing
/// of the volume metrics, the header of the review's NIfTI masks, and the axis a prediction slices its volumes along.
/// </summary>
public static class VolumeOriginals
{
    public const string Folder = "volumes";

    /// <summary>The slicing axis of a volume dataset: <c>SourceJson</c>'s <c>axis</c> (or <c>sliceAxis</c>; a name such as
    /// "axial" or a number 0 … 2), else <see cref="SliceAxis.Auto"/> (the coarsest spacing), which is the import's default.</summary>
    public static SliceAxis Axis(string? sourceJson)
    {
        if (string.IsNullOrWhiteSpace(sourceJson)) return SliceAxis.Auto;
        try
        {
            using var doc = JsonDocument.Parse(sourceJson);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return SliceAxis.Auto;
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!property.Name.Equals("axis", StringComparison.OrdinalIgnoreCase) && !property.Name.Equals("sliceAxis", StringComparison.OrdinalIgnoreCase))
                    continue;
                var v = property.Value;
                if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) && n is >= -1 and <= 2) return (SliceAxis)n;
                if (v.ValueKind == JsonValueKind.String && Enum.TryParse<SliceAxis>(v.GetString(), ignoreCase: true, out var a)) return a;
            }
        }
        catch (JsonException)
        {
            // An unreadable description slices as the import's default does.
        }
        return SliceAxis.Auto;
    }

    /// <summary>The original NIfTI of volume case <paramref name="caseId"/> under <c>{datasetFolder}/volumes/</c> (any depth):
    /// <c>{id}.nii[.gz]</c> or its first channel <c>{id}_0000.nii[.gz]</c>, an image folder's copy before a label folder's
    /// (the two share the geometry); null when the dataset has no originals.</summary>
    public static string? Find(string datasetFolder, string caseId)
    {
        var root = Path.Combine(datasetFolder, Folder);
        if (!Directory.Exists(root)) return null;
        return Directory.EnumerateFiles(root, "*.nii*", SearchOption.AllDirectories)
            .Where(f => StemOf(f) is { } stem && (stem == caseId || stem == caseId + "_0000"))
            .OrderBy(f => Path.GetRelativePath(root, f).Contains("label", StringComparison.OrdinalIgnoreCase) ? 1 : 0)
            .ThenBy(f => f, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    /// <summary>The header of <see cref="Find"/>'s file; null when there is none or it cannot be read.</summary>
    public static NiftiHeader? Header(string datasetFolder, string caseId)
    {
        if (Find(datasetFolder, caseId) is not { } file) return null;
        try
        {
            return NiftiVolume.ReadHeader(file);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The spacing between slices along <paramref name="axis"/> (mm) of <paramref name="header"/>.</summary>
    public static double SliceSpacing(NiftiHeader header, SliceAxis axis) =>
        VolumeSlicer.CanonicalSpacing(header)[(int)VolumeSlicer.Resolve(header, axis)];

    /// <summary>The file name without <c>.nii</c> / <c>.nii.gz</c>; null for other files.</summary>
    public static string? StemOf(string path)
    {
        var name = Path.GetFileName(path);
        if (name.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase)) return name[..^7];
        if (name.EndsWith(".nii", StringComparison.OrdinalIgnoreCase)) return name[..^4];
        return null;
    }
}
