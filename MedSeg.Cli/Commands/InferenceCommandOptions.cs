using System.Globalization;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Metrics;

namespace MedSeg.Cli.Commands;

/// <summary>Options shared by <c>evaluate</c> and <c>predict</c>.</summary>
internal static class InferenceCommandOptions
{
    public static readonly CommandOption[] Common =
    [
        new("run", "Training run directory (run.json + checkpoints/)", ValueName: "DIR"),
        new("device", "auto, cpu, cuda or cuda:N", "auto", ValueName: "DEV"),
        new("tta", "Flip test-time augmentation (h, v, hv; probabilities averaged)", IsFlag: true),
        new("sliding-window", "Native resolution, Gaussian-weighted windows of the training size (default: resize to it)", IsFlag: true),
        new("lcc", "Keep the largest 8-connected component per class", IsFlag: true),
        new("batch", "Images or windows per forward pass", "4"),
        new("threads", "torch intra-op threads", ValueName: "N"),
    ];

    public static string RequireDirectory(ParsedOptions options, string name)
    {
        var value = options.Get(name) ?? throw new UsageException($"--{name} is required.");
        if (!Directory.Exists(value)) throw new UsageException($"--{name}: folder '{value}' does not exist.");
        return value;
    }

    public static string Require(ParsedOptions options, string name) => options.Get(name) ?? throw new UsageException($"--{name} is required.");

    public static InferenceOptions Parse(ParsedOptions options) => new()
    {
        TestTimeAugmentation = options.Has("tta"),
        Mode = options.Has("sliding-window") ? PredictionMode.SlidingWindow : PredictionMode.Resize,
        LargestComponent = options.Has("lcc"),
        BatchSize = options.GetInt("batch", 4, max: 1024),
        Threads = options.Get("threads") is null ? null : options.GetInt("threads", 1, max: 1024),
    };

    /// <summary>"y,x" or one number (isotropic), millimetres per pixel.</summary>
    public static PixelSpacing ParseSpacing(string? text)
    {
        if (text is null) return PixelSpacing.Unit;
        var parts = text.Split(',');
        var values = parts.Select(p => double.TryParse(p.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
        if (parts.Length is < 1 or > 2 || values.Any(v => !(v > 0) || double.IsInfinity(v)))
            throw new UsageException($"--spacing takes 'y,x' or one value in mm, both positive; got '{text}'.");
        return values.Length == 1 ? PixelSpacing.Isotropic(values[0]) : new PixelSpacing(values[0], values[1]);
    }
}
