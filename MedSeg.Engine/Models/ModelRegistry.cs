namespace MedSeg.Engine.Models;

/// <summary>One variant of an architecture: its name (<see cref="ModelOptions.Variant"/>), parameter count at
/// 3 input channels and 1 class (checked against the built model by ModelRegistryTests), and what it is.</summary>
public sealed record ModelVariantInfo(string Name, long Parameters, string Description);

/// <summary>A typed option an architecture takes beyond its variant (a <see cref="ModelOptions"/> property): its name as the
/// API and the form spell it, its type ("bool"), its default, and what it does.</summary>
public sealed record ModelOptionInfo(string Name, string Type, string Default, string Description);

/// <summary>One entry of the model zoo, with the metadata everyone asks for without building a model: lowercase name, a
/// one-line description, the size multiple H and W must be multiples of, the variants (the default first), the options it
/// takes, variants still accepted for old runs but no longer offered, and the factory.</summary>
public sealed record ModelInfo(string Name, string Description, int SizeMultiple, IReadOnlyList<ModelVariantInfo> Variants,
    IReadOnlyList<ModelOptionInfo> Options, Func<ModelOptions, SegmentationModel> Factory)
{
    /// <summary>Accepted in <see cref="ModelOptions.Variant"/> so that old experiments resume, not offered.</summary>
    public IReadOnlyList<string> LegacyVariants { get; init; } = [];

    public string DefaultVariant => Variants[0].Name;

    public IReadOnlyList<string> VariantNames => [.. Variants.Select(v => v.Name)];

    /// <summary>The variant a request names (case-insensitive; null or empty = the default), its canonical spelling; null
    /// when the architecture has no such variant.</summary>
    public string? FindVariant(string? requested)
    {
        if (string.IsNullOrWhiteSpace(requested)) return DefaultVariant;
        var name = requested.Trim();
        return VariantNames.Concat(LegacyVariants).FirstOrDefault(v => string.Equals(v, name, StringComparison.OrdinalIgnoreCase));
    }

    public bool Takes(string option) => Options.Any(o => string.Equals(o.Name, option, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The model zoo, keyed by lowercase name (<c>ModelRegistry.Create("unext", options)</c>), and the one place that
/// says which names, variants and options are valid (<see cref="Check"/>).</summary>
public static class ModelRegistry
{
    /// <summary>The option name of <see cref="ModelOptions.DeepSupervision"/>.</summary>
    public const string DeepSupervisionOption = "deepSupervision";

    private static readonly Dictionary<string, ModelInfo> Models = new(StringComparer.OrdinalIgnoreCase);

    static ModelRegistry()
    {
        // Each architecture registers itself here; keep this list in the order the UI offers them.
        Register(new ModelInfo("unext", "UNeXt (Valanarasu & Patel 2022): conv + tokenized MLP U-shaped network, 1.47 M params", 32,
            [new("default", 1_471_921, "the paper's widths (16, 32, 128, 160, 256)"), new("s", 253_561, "UNeXt-S: a quarter of the widths, for CPU runs and tests")], [],
            o => new UNeXt.UNeXt(o)));
        Register(new ModelInfo("unet", "U-Net (Ronneberger et al. 2015): 64-channel base, transposed-conv up, BN; 31.0 M params", 16,
            [new("transposed", 31_037_633, "64-channel base, 2×2 transposed-conv up-convolutions, as in the paper"),
             new("bilinear", 17_262_977, "64-channel base, bilinear upsampling and a halved bottleneck"),
             new("small", 1_942_577, "16-channel base with transposed convolutions, for CPU runs and tests")], [],
            o => new UNet.UNet(o)));
        Register(new ModelInfo("unetplusplus", "UNet++ (Zhou et al. 2018): nested dense skips, 32-channel base, optional deep supervision; 9.16 M params", 16,
            [new("base32", 9_163_329, "32-channel base (32 … 512), as in the UNeXt comparison"), new("small", 2_293_793, "16-channel base, for CPU runs and tests")],
            [new(DeepSupervisionOption, "bool", "false",
                "Deep supervision: a 1×1 head on each of X(0,1) … X(0,4), trained with the loss on every head (equal weights, as in the paper); " +
                "predictions average the four heads")],
            o => new UNetPlusPlus.UNetPlusPlus(o)) { LegacyVariants = [UNetPlusPlus.UNetPlusPlus.LegacyDeepSupervisionVariant] });
        Register(new ModelInfo("segformer", "SegFormer (Xie et al. 2021): Mix Transformer encoder + all-MLP decoder; B0 (default) / B1 / B2, 3.7 M params for B0", 32,
            [new("b0", 3_714_401, "MiT-B0 encoder, 256-channel decoder"), new("b1", 13_677_505, "MiT-B1 encoder"), new("b2", 27_347_393, "MiT-B2 encoder, 768-channel decoder")], [],
            o => new SegFormer.SegFormer(o)));
        Register(new ModelInfo("pspnet", "PSPNet (Zhao et al. 2017): dilated ResNet-50 (default) / 34 / 18 + pyramid pooling 1, 2, 3, 6; 46.6 M params", 8,
            [new("resnet50", 46_582_337, "dilated ResNet-50 encoder (output stride 8)"), new("resnet34", 26_267_969, "dilated ResNet-34 encoder"),
             new("resnet18", 16_159_809, "dilated ResNet-18 encoder")], [],
            o => new PSPNet.PSPNet(o)));
        Register(new ModelInfo("hrnet", "HRNetV2 (Wang et al. 2019): parallel multi-resolution branches, concatenating head; W18-Small v1 (default, 1.5 M) / v2 / W18", 32,
            [new("w18_small_v1", 1_536_481, "HRNetV2-W18-Small v1"), new("w18_small_v2", 3_934_701, "HRNetV2-W18-Small v2"), new("w18", 9_636_241, "HRNetV2-W18 (fewer blocks than the paper's, see docs)")], [],
            o => new HRNet.HRNet(o)));
        Register(new ModelInfo("deeplabv3plus", "DeepLabV3+ (Chen et al. 2018): ResNet-50 (default) / ResNet-101 / MobileNetV2, ASPP 6/12/18 + 48-ch low-level decoder", 16,
            [new("resnet50", 40_347_041, "ResNet-50 backbone (output stride 16)"), new("resnet101", 59_339_169, "ResNet-101 backbone"),
             new("mobilenetv2", 5_810_913, "MobileNetV2 backbone")], [],
            o => new DeepLabV3Plus.DeepLabV3Plus(o)));
    }

    public static IReadOnlyList<string> Names => [.. Models.Keys];

    public static IReadOnlyList<ModelInfo> All => [.. Models.Values];

    public static bool Contains(string name) => Models.ContainsKey(name);

    public static ModelInfo Get(string name) =>
        Models.TryGetValue(name, out var info)
            ? info
            : throw new ArgumentException($"Unknown model '{name}'. Registered models: {string.Join(", ", Models.Keys)}.", nameof(name));

    /// <summary>The model's required divisor of H and W; 32 for an unknown name (nothing is built).</summary>
    public static int SizeMultiple(string name) => Models.TryGetValue(name, out var info) ? info.SizeMultiple : 32;

    public static SegmentationModel Create(string name, ModelOptions? options = null) => Get(name).Factory(options ?? new ModelOptions());

    /// <summary>Why <paramref name="model"/> with <paramref name="options"/> cannot be built, as (field, message) pairs with the
    /// fields <c>Model</c>, <c>Variant</c> and the option names; empty when it can. Builds nothing.</summary>
    public static IReadOnlyList<(string Field, string Message)> Check(string? model, ModelOptions options)
    {
        if (string.IsNullOrWhiteSpace(model)) return [("Model", "Choose an architecture.")];
        if (!Models.TryGetValue(model.Trim(), out var info))
            return [("Model", $"Unknown architecture '{model}'. Choose one of: {string.Join(", ", Names)}.")];
        var errors = new List<(string, string)>();
        if (info.FindVariant(options.Variant) is null)
            errors.Add(("Variant", $"Unknown variant '{options.Variant}' for {info.Name}. Choose one of: {string.Join(", ", info.VariantNames)} (default {info.DefaultVariant})."));
        if (options.DeepSupervision && !info.Takes(DeepSupervisionOption))
            errors.Add(("DeepSupervision", $"{info.Name} has no deep supervision; only {string.Join(", ", All.Where(m => m.Takes(DeepSupervisionOption)).Select(m => m.Name))} " +
                                           "take it. Turn it off."));
        return errors;
    }

    private static void Register(ModelInfo info) => Models.Add(info.Name.ToLowerInvariant(), info);
}
