namespace MedSeg.Data.Entities;

public sealed class DatasetCase
{
    public Guid Id { get; set; }
    public Guid DatasetId { get; set; }
    public Dataset? Dataset { get; set; }
    /// <summary>File stem shared by image and mask.</summary>
    public required string Name { get; set; }
    /// <summary>Paths relative to the dataset folder in the artifact store (forward slashes).</summary>
    public required string ImagePath { get; set; }
    public required string MaskPath { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    public double ForegroundFraction { get; set; }
    public required string ImageSha256 { get; set; }
    public required string MaskSha256 { get; set; }
    /// <summary>Bit k set when label k occurs in the mask (bit 0: background; binary masks use bit 1 for foreground).</summary>
    public int LabelsPresent { get; set; }
    /// <summary>The source volume's case id (slices of one volume group together), or null for a 2D image.</summary>
    public string? GroupKey { get; set; }
    /// <summary>The slice's index along the volume's slicing axis (canonical RAS+ order), or null for a 2D image.</summary>
    public int? SliceIndex { get; set; }
    /// <summary>Pixel spacing in mm (columns, rows), when the source said (NIfTI, DICOM); null = unknown (metrics in pixels).</summary>
    public double? SpacingX { get; set; }
    public double? SpacingY { get; set; }
    /// <summary>The dataset version that added the case, and the one that removed it (null: still in the latest). A version
    /// n holds the cases with AddedInVersion ≤ n and (RemovedInVersion null or &gt; n).</summary>
    public int AddedInVersion { get; set; } = 1;
    public int? RemovedInVersion { get; set; }
}
