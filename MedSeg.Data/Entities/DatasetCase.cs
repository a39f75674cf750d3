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
}
