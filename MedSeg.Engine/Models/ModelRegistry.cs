namespace MedSeg.Engine.Models;

/// <summary>One entry of the model zoo: lowercase name, a one-line description, and a factory.</summary>
public sealed record ModelInfo(string Name, string Description, Func<ModelOptions, SegmentationModel> Factory);

/// <summary>The model zoo, keyed by lowercase name (<c>ModelRegistry.Create("unext", options)</c>).</summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, ModelInfo> Models = new(StringComparer.OrdinalIgnoreCase);

    static ModelRegistry()
    {
        // Each architecture registers itself here; keep this list in the order the UI offers them.
        Register(new ModelInfo("unext", "UNeXt (Valanarasu & Patel 2022): conv + tokenized MLP U-shaped network, 1.47 M params",
            o => new UNeXt.UNeXt(o)));
        Register(new ModelInfo("unet", "U-Net (Ronneberger et al. 2015): 64-channel base, transposed-conv up, BN; 31.0 M params",
            o => new UNet.UNet(o)));
        Register(new ModelInfo("unetplusplus", "UNet++ (Zhou et al. 2018): nested dense skips, 32-channel base, optional deep supervision; 9.16 M params",
            o => new UNetPlusPlus.UNetPlusPlus(o)));
        Register(new ModelInfo("segformer", "SegFormer (Xie et al. 2021): Mix Transformer encoder + all-MLP decoder; B0 (default) / B1 / B2, 3.7 M params for B0",
            o => new SegFormer.SegFormer(o)));
        Register(new ModelInfo("pspnet", "PSPNet (Zhao et al. 2017): dilated ResNet-50 (default) / 34 / 18 + pyramid pooling 1, 2, 3, 6; 46.6 M params",
            o => new PSPNet.PSPNet(o)));
        Register(new ModelInfo("hrnet", "HRNetV2 (Wang et al. 2019): parallel multi-resolution branches, concatenating head; W18-Small v1 (default, 1.5 M) / v2 / W18",
            o => new HRNet.HRNet(o)));
        Register(new ModelInfo("deeplabv3plus", "DeepLabV3+ (Chen et al. 2018): ResNet-50 (default) / ResNet-101 / MobileNetV2, ASPP 6/12/18 + 48-ch low-level decoder",
            o => new DeepLabV3Plus.DeepLabV3Plus(o)));
    }

    public static IReadOnlyList<string> Names => [.. Models.Keys];

    public static IReadOnlyList<ModelInfo> All => [.. Models.Values];

    public static bool Contains(string name) => Models.ContainsKey(name);

    public static ModelInfo Get(string name) =>
        Models.TryGetValue(name, out var info)
            ? info
            : throw new ArgumentException($"Unknown model '{name}'. Registered models: {string.Join(", ", Models.Keys)}.", nameof(name));

    public static SegmentationModel Create(string name, ModelOptions? options = null) => Get(name).Factory(options ?? new ModelOptions());

    private static void Register(ModelInfo info) => Models.Add(info.Name.ToLowerInvariant(), info);
}
