using System.Text.Json.Serialization;

namespace MedSeg.Engine.Data.Pipeline;

/// <summary>What spatial transforms sample outside the source image.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BorderMode>))]
public enum BorderMode
{
    /// <summary>Image 0 (the normalized background/mean), mask background.</summary>
    Zero,
    /// <summary>Nearest edge pixel (image and mask).</summary>
    Edge,
}

/// <summary>
/// Augmentation as probabilities and ranges (each transform is applied to a case with its probability; ranges are
/// uniform). Spatial transforms move image and mask together (bilinear image, nearest mask); intensity transforms touch
/// the image only and work on normalized values. Presets: <see cref="None"/>, <see cref="Light"/>, <see cref="Strong"/>;
/// <see cref="Parse"/> reads their names. Any other combination is a custom record (<c>Strong with { … }</c>).
/// </summary>
public sealed record AugmentationOptions
{
    public string Name { get; init; } = "custom";
    public double FlipXProbability { get; init; }
    public double FlipYProbability { get; init; }
    /// <summary>Rotate by k·90°, k uniform in 1..3.</summary>
    public double Rotate90Probability { get; init; }
    public double ScaleProbability { get; init; }
    /// <summary>Zoom factor range (&gt; 1 enlarges the content).</summary>
    public double ScaleMin { get; init; } = 1;
    public double ScaleMax { get; init; } = 1;
    public double RotationProbability { get; init; }
    /// <summary>Rotation uniform in ±this many degrees.</summary>
    public double RotationDegrees { get; init; }
    public BorderMode Border { get; init; } = BorderMode.Zero;
    /// <summary>Multiplicative brightness x·f.</summary>
    public double BrightnessProbability { get; init; }
    public double BrightnessMin { get; init; } = 1;
    public double BrightnessMax { get; init; } = 1;
    /// <summary>Contrast (x − mean)·f + mean per channel, clipped to the channel's previous range (as nnU-Net).</summary>
    public double ContrastProbability { get; init; }
    public double ContrastMin { get; init; } = 1;
    public double ContrastMax { get; init; } = 1;
    /// <summary>Gamma per channel on the min–max rescaled values, range restored afterwards.</summary>
    public double GammaProbability { get; init; }
    public double GammaMin { get; init; } = 1;
    public double GammaMax { get; init; } = 1;
    /// <summary>Additive Gaussian noise with variance uniform in [0, NoiseVarianceMax].</summary>
    public double NoiseProbability { get; init; }
    public double NoiseVarianceMax { get; init; }
    /// <summary>Gaussian blur with σ (pixels) uniform in [BlurSigmaMin, BlurSigmaMax].</summary>
    public double BlurProbability { get; init; }
    public double BlurSigmaMin { get; init; } = 0.5;
    public double BlurSigmaMax { get; init; } = 1;
    /// <summary>Elastic deformation: random displacements (std <see cref="ElasticAlpha"/> px) on an
    /// <see cref="ElasticGrid"/>×<see cref="ElasticGrid"/> grid, interpolated bilinearly (a smooth field).</summary>
    public double ElasticProbability { get; init; }
    public double ElasticAlpha { get; init; } = 8;
    public int ElasticGrid { get; init; } = 4;

    public static readonly AugmentationOptions None = new() { Name = "none" };

    /// <summary>Horizontal and vertical flips with probability ½ each: what the trainer did before the pipeline
    /// (the random draws differ: they now come from <see cref="PipelineRandom"/>).</summary>
    public static readonly AugmentationOptions Flips = new() { Name = "flips", FlipXProbability = 0.5, FlipYProbability = 0.5 };

    /// <summary>Flips, 90° rotations, mild brightness/contrast.</summary>
    public static readonly AugmentationOptions Light = new()
    {
        Name = "light",
        FlipXProbability = 0.5, FlipYProbability = 0.5, Rotate90Probability = 0.5,
        BrightnessProbability = 0.3, BrightnessMin = 0.9, BrightnessMax = 1.1,
        ContrastProbability = 0.3, ContrastMin = 0.9, ContrastMax = 1.1,
    };

    /// <summary>nnU-Net-like: Light plus scale 0.7–1.4, rotation ±180°, brightness/contrast 0.75–1.25, gamma 0.7–1.5,
    /// noise, blur (probabilities as nnU-Net's 2D defaults); elastic off.</summary>
    public static readonly AugmentationOptions Strong = Light with
    {
        Name = "strong",
        ScaleProbability = 0.2, ScaleMin = 0.7, ScaleMax = 1.4,
        RotationProbability = 0.2, RotationDegrees = 180,
        BrightnessProbability = 0.15, BrightnessMin = 0.75, BrightnessMax = 1.25,
        ContrastProbability = 0.15, ContrastMin = 0.75, ContrastMax = 1.25,
        GammaProbability = 0.3, GammaMin = 0.7, GammaMax = 1.5,
        NoiseProbability = 0.1, NoiseVarianceMax = 0.1,
        BlurProbability = 0.2, BlurSigmaMin = 0.5, BlurSigmaMax = 1.0,
    };

    public static IReadOnlyList<string> PresetNames { get; } = ["none", "flips", "light", "strong"];

    /// <summary>
    /// A preset by name, optionally followed by overrides: <c>"strong"</c>, <c>"strong, ElasticProbability=0.2,
    /// RotationDegrees=45"</c>, <c>"none, FlipXProbability=0.5, Border=Edge"</c>, or overrides alone (starting from
    /// none). Names and keys are case-insensitive; keys are the property names of this record; values use '.' as the
    /// decimal separator. A spec with overrides is named by its normalized text (that name is what run.json and the
    /// web show). Unknown presets or keys, unparsable values and out-of-range results throw an
    /// <see cref="ArgumentException"/> that lists the valid names.
    /// </summary>
    public static AugmentationOptions Parse(string spec)
    {
        var parts = (spec ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return None;
        var hasPreset = !parts[0].Contains('=', StringComparison.Ordinal);
        var preset = hasPreset ? Preset(parts[0]) : None;
        if (parts.Length == 1 && hasPreset) return preset;
        var overrides = hasPreset ? parts[1..] : parts;
        var result = preset with { Name = "" };
        var applied = new List<string> { hasPreset ? preset.Name : "none" };
        foreach (var part in overrides)
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new ArgumentException($"Augmentation override '{part}' is not KEY=VALUE; only the first item may be a preset ({string.Join(", ", PresetNames)}).");
            var key = part[..eq].Trim();
            var text = part[(eq + 1)..].Trim();
            var property = OverridableProperties.FirstOrDefault(p => p.Name.Equals(key, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"Unknown augmentation key '{key}'. Keys: {string.Join(", ", OverridableProperties.Select(p => p.Name))}.");
            object value;
            if (property.PropertyType == typeof(double))
                value = double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
                    ? d : throw new ArgumentException($"Augmentation key {property.Name} needs a number (e.g. 0.5); got '{text}'.");
            else if (property.PropertyType == typeof(int))
                value = int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var i)
                    ? i : throw new ArgumentException($"Augmentation key {property.Name} needs a whole number; got '{text}'.");
            else
                value = Enum.TryParse<BorderMode>(text, ignoreCase: true, out var border) && Enum.IsDefined(border)
                    ? border : throw new ArgumentException($"Augmentation key {property.Name} takes {string.Join(" or ", Enum.GetNames<BorderMode>())}; got '{text}'.");
            property.SetValue(result, value);
            applied.Add($"{property.Name}={string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0}", value)}");
        }
        result = result with { Name = string.Join(", ", applied) };
        result.Validate();
        return result;
    }

    private static AugmentationOptions Preset(string name) => name.Trim().ToLowerInvariant() switch
    {
        "none" or "" => None,
        "flips" => Flips,
        "light" => Light,
        "strong" => Strong,
        _ => throw new ArgumentException($"Unknown augmentation preset '{name}'. Presets: {string.Join(", ", PresetNames)}; " +
                                         "add overrides after a comma, e.g. 'strong, ElasticProbability=0.2, RotationDegrees=45'."),
    };

    /// <summary>A custom record from JSON (the property names of this record, case-insensitive; missing ones are off/neutral),
    /// validated. Its name is "custom" unless the JSON gives one.</summary>
    public static AugmentationOptions FromJson(string json)
    {
        AugmentationOptions? options;
        try
        {
            options = System.Text.Json.JsonSerializer.Deserialize<AugmentationOptions>(json,
                new System.Text.Json.JsonSerializerOptions { PropertyNameCaseInsensitive = true, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow });
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"The augmentation JSON is not valid: {e.Message} Keys: {string.Join(", ", OverridableProperties.Select(p => p.Name))}.", e);
        }
        if (options is null) throw new ArgumentException("The augmentation JSON is empty (null).");
        options.Validate();
        return options;
    }

    private static readonly System.Reflection.PropertyInfo[] OverridableProperties =
        typeof(AugmentationOptions).GetProperties().Where(p => p.CanWrite && p.Name != nameof(Name)).ToArray();

    /// <summary>True when some transform can move pixels (not only flips/90° rotations).</summary>
    public bool HasResampling => ScaleProbability > 0 || RotationProbability > 0 || ElasticProbability > 0;

    public void Validate()
    {
        foreach (var (p, name) in new[] { (FlipXProbability, "FlipX"), (FlipYProbability, "FlipY"), (Rotate90Probability, "Rotate90"),
                     (ScaleProbability, "Scale"), (RotationProbability, "Rotation"), (BrightnessProbability, "Brightness"),
                     (ContrastProbability, "Contrast"), (GammaProbability, "Gamma"), (NoiseProbability, "Noise"),
                     (BlurProbability, "Blur"), (ElasticProbability, "Elastic") })
            if (!(p >= 0 && p <= 1)) throw new ArgumentException($"{name}Probability must be within [0, 1]; got {p}.");
        if (!(ScaleMin > 0 && ScaleMax >= ScaleMin)) throw new ArgumentException("Scale range must satisfy 0 < ScaleMin ≤ ScaleMax.");
        if (!(GammaMin > 0 && GammaMax >= GammaMin)) throw new ArgumentException("Gamma range must satisfy 0 < GammaMin ≤ GammaMax.");
        if (!(BrightnessMax >= BrightnessMin) || !(ContrastMax >= ContrastMin)) throw new ArgumentException("Brightness and contrast ranges need Max ≥ Min.");
        if (!(NoiseVarianceMax >= 0)) throw new ArgumentException("NoiseVarianceMax must be ≥ 0.");
        if (!(BlurSigmaMin > 0 && BlurSigmaMax >= BlurSigmaMin)) throw new ArgumentException("Blur range must satisfy 0 < BlurSigmaMin ≤ BlurSigmaMax.");
        if (ElasticGrid < 2) throw new ArgumentException("ElasticGrid must be at least 2.");
    }
}
