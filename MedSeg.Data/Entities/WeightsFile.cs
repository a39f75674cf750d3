namespace MedSeg.Data.Entities;

/// <summary>A pretrained encoder-weights file an admin uploaded into the weights library (PyTorch .pt/.pth or .safetensors),
/// with the models and variants it fits and the key report of loading it into each.</summary>
public sealed class WeightsFile
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    /// <summary>The uploaded file's name, as given.</summary>
    public required string FileName { get; set; }
    /// <summary>Where it is stored, relative to the data root (weights/{id}.{ext}).</summary>
    public required string StoredPath { get; set; }
    /// <summary>"pytorch" or "safetensors".</summary>
    public required string Format { get; set; }
    public long SizeBytes { get; set; }
    public required string Sha256 { get; set; }
    /// <summary>JSON: the model/variant pairs it fits, each with its key report summary.</summary>
    public required string FitsJson { get; set; }
    public required string UploadedById { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
}
