using System.Text.Json.Serialization;

namespace MedSeg.Engine.Data.Pipeline;

[JsonConverter(typeof(JsonStringEnumConverter<NormalizationMode>))]
public enum NormalizationMode
{
    /// <summary>Each channel of each image to mean 0, std 1 (std below 1e-6 counts as 1). Today's default.</summary>
    PerImageZScore,
    /// <summary>(x − Mean[c]) / Std[c] with the dataset's per-channel statistics (from <see cref="DatasetFingerprint"/>).</summary>
    DatasetZScore,
    /// <summary>Clip channel c to [Low[c], High[c]]; then z-score with Mean/Std when given (nnU-Net's CT scheme: foreground
    /// 0.5/99.5 percentiles and foreground mean/std), else scale the window to [0, 1].</summary>
    CtWindow,
    /// <summary>Stored sample values unchanged (0–255, 0–65535).</summary>
    None,
}

/// <summary>How image intensities are normalized after resizing; a serializable record so run.json can hold it.
/// Per-channel lists hold one value per model input channel (one value is used for every channel).</summary>
public sealed record IntensityNormalization(
    NormalizationMode Mode,
    IReadOnlyList<double>? Mean = null,
    IReadOnlyList<double>? Std = null,
    IReadOnlyList<double>? Low = null,
    IReadOnlyList<double>? High = null)
{
    public const double StdFloor = 1e-6;

    public static readonly IntensityNormalization PerImageZScore = new(NormalizationMode.PerImageZScore);
    public static readonly IntensityNormalization None = new(NormalizationMode.None);

    public static IntensityNormalization DatasetZScore(IReadOnlyList<double> mean, IReadOnlyList<double> std) =>
        new(NormalizationMode.DatasetZScore, mean, std);

    /// <summary>Clip to [low, high] and scale to [0, 1].</summary>
    public static IntensityNormalization Window(IReadOnlyList<double> low, IReadOnlyList<double> high) =>
        new(NormalizationMode.CtWindow, Low: low, High: high);

    /// <summary>Clip to [low, high], then z-score with mean/std (nnU-Net CT normalization).</summary>
    public static IntensityNormalization WindowZScore(IReadOnlyList<double> low, IReadOnlyList<double> high,
        IReadOnlyList<double> mean, IReadOnlyList<double> std) => new(NormalizationMode.CtWindow, mean, std, low, high);

    /// <summary>Throws <see cref="ArgumentException"/> when the lists this mode needs are missing or malformed.</summary>
    public void Validate()
    {
        static void Need(IReadOnlyList<double>? values, string name, NormalizationMode mode)
        {
            if (values is null || values.Count == 0) throw new ArgumentException($"{mode} normalization needs {name} (one value per channel).");
            if (values.Any(v => !double.IsFinite(v))) throw new ArgumentException($"{mode} normalization: {name} holds a non-finite value.");
        }
        switch (Mode)
        {
            case NormalizationMode.DatasetZScore:
                Need(Mean, nameof(Mean), Mode);
                Need(Std, nameof(Std), Mode);
                break;
            case NormalizationMode.CtWindow:
                Need(Low, nameof(Low), Mode);
                Need(High, nameof(High), Mode);
                if (Low!.Count != High!.Count || Low.Zip(High).Any(p => !(p.Second > p.First)))
                    throw new ArgumentException("CtWindow normalization needs High > Low for every channel.");
                if ((Mean is null) != (Std is null)) throw new ArgumentException("CtWindow normalization takes both Mean and Std or neither.");
                if (Mean is not null) { Need(Mean, nameof(Mean), Mode); Need(Std, nameof(Std), Mode); }
                break;
        }
    }

    /// <summary>Value of a per-channel list for channel c (a single value applies to all channels).</summary>
    internal static double At(IReadOnlyList<double> values, int channel) =>
        values.Count == 1 ? values[0] : channel < values.Count ? values[channel]
            : throw new ArgumentException($"the normalization has {values.Count} per-channel values but the image has more channels.");
}

/// <summary>Everything <c>Preprocessing.Prepare</c> does to an image besides channel conversion; the default is today's
/// pipeline (stretch + per-image z-score). Serializable for run.json.</summary>
public sealed record PreprocessingOptions(ResizePolicy Resize = ResizePolicy.Stretch, IntensityNormalization? Normalization = null)
{
    public static readonly PreprocessingOptions Default = new();
    public IntensityNormalization EffectiveNormalization => Normalization ?? IntensityNormalization.PerImageZScore;
    public bool IsDefault => Resize == ResizePolicy.Stretch && EffectiveNormalization.Mode == NormalizationMode.PerImageZScore;
}
