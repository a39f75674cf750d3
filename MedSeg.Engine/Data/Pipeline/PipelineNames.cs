namespace MedSeg.Engine.Data.Pipeline;

/// <summary>The short names the CLI and the web use for resize policies and normalizations.</summary>
public static class PipelineNames
{
    public static IReadOnlyList<string> ResizeNames { get; } = ["stretch", "letterbox"];

    /// <summary><c>per-image</c> (per-image z-score), <c>dataset</c> (dataset z-score), <c>ct</c> (CT window + foreground
    /// z-score). <c>dataset</c> and <c>ct</c> carry no values: the trainer computes them from the training cases.</summary>
    public static IReadOnlyList<string> NormalizationNames { get; } = ["per-image", "dataset", "ct"];

    public static ResizePolicy ParseResize(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "stretch" => ResizePolicy.Stretch,
        "letterbox" => ResizePolicy.Letterbox,
        _ => throw new ArgumentException($"Unknown resize policy '{name}'. Valid values: {string.Join(", ", ResizeNames)}."),
    };

    public static IntensityNormalization ParseNormalization(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "per-image" or "per-image-zscore" or "zscore" => IntensityNormalization.PerImageZScore,
        "dataset" or "dataset-zscore" => new IntensityNormalization(NormalizationMode.DatasetZScore),
        "ct" or "ct-window" => new IntensityNormalization(NormalizationMode.CtWindow),
        _ => throw new ArgumentException($"Unknown normalization '{name}'. Valid values: {string.Join(", ", NormalizationNames)}."),
    };
}
