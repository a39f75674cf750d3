namespace MedSeg.Engine.Models;

/// <summary>What every architecture takes: input channels, output classes (1 = binary, one sigmoid channel), an
/// architecture-specific variant name (null = the default of the reference paper), and the options a model declares in
/// <see cref="ModelInfo.Options"/> (today UNet++'s <see cref="DeepSupervision"/>).</summary>
public sealed record ModelOptions(int InChannels = 3, int Classes = 1, string? Variant = null, bool DeepSupervision = false);
