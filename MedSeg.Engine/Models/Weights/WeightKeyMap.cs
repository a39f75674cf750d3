namespace MedSeg.Engine.Models.Weights;

/// <summary>A prefix rewrite: a file key starting with <see cref="From"/> becomes <see cref="To"/> + the rest.</summary>
public sealed record PrefixRewrite(string From, string To);

/// <summary>File keys starting with <see cref="Prefix"/> are dropped on purpose (classifier heads), for <see cref="Reason"/>.</summary>
public sealed record IgnoredPrefix(string Prefix, string Reason);

/// <summary>
/// How the keys of a pretrained state dict become keys of our model. Written as a comma-separated list:
/// <c>from=to</c> rewrites a key prefix (the longest matching <c>from</c> wins; an empty <c>from</c> matches every key,
/// an empty <c>to</c> strips the prefix), <c>!prefix</c> ignores keys with that prefix. Keys that no rewrite matches keep
/// their name. Examples: <c>=encoder.,!fc.</c> (torchvision ResNet into our encoders),
/// <c>module.=</c> (strip DataParallel's prefix), <c>backbone.=encoder.</c>.
/// </summary>
public sealed class WeightKeyMap
{
    public WeightKeyMap(string name, IReadOnlyList<PrefixRewrite> rewrites, IReadOnlyList<IgnoredPrefix> ignored)
    {
        Name = name;
        Rewrites = [.. rewrites.OrderByDescending(r => r.From.Length)];
        Ignored = ignored;
    }

    /// <summary>A short name for reports (<c>identity</c>, <c>torchvision</c>, <c>mit</c>, or the spec as given).</summary>
    public string Name { get; }

    public IReadOnlyList<PrefixRewrite> Rewrites { get; }

    public IReadOnlyList<IgnoredPrefix> Ignored { get; }

    /// <summary>Keys keep their names: a state dict of the whole model (e.g. a MedSeg export).</summary>
    public static WeightKeyMap Identity { get; } = new("identity", [], []);

    /// <summary>torchvision ResNet / MobileNetV2 classification weights into our <c>encoder.</c>: every key gains the
    /// prefix; the classifier (<c>fc.*</c>, <c>classifier.*</c>) and MobileNetV2's last 1×1 conv to 1280 channels
    /// (<c>features.18.*</c>, which our encoder leaves out) are ignored.</summary>
    public static WeightKeyMap Torchvision { get; } = new("torchvision", [new("", "encoder.")],
    [
        new("fc.", "ImageNet classifier (ResNet)"),
        new("classifier.", "ImageNet classifier (MobileNetV2)"),
        new("features.18.", "MobileNetV2's final 1×1 conv to 1280 channels, which the segmentation encoder leaves out"),
    ]);

    /// <summary>NVlabs/SegFormer ImageNet MiT weights (<c>mit_b0.pth</c>: <c>patch_embed1.proj.weight</c>,
    /// <c>block1.0.attn.q.weight</c>, ...) into our SegFormer's <c>backbone.</c> (same names below the prefix);
    /// the classification head (<c>head.*</c>) is ignored.</summary>
    public static WeightKeyMap MixTransformer { get; } = new("mit", [new("", "backbone.")],
    [
        new("head.", "ImageNet classifier (MiT)"),
    ]);

    /// <summary>Parses the comma-separated form described on the class.</summary>
    public static WeightKeyMap Parse(string spec)
    {
        var rewrites = new List<PrefixRewrite>();
        var ignored = new List<IgnoredPrefix>();
        foreach (var raw in spec.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (raw.StartsWith('!'))
            {
                ignored.Add(new(raw[1..], $"ignored by the prefix map '{spec}'"));
                continue;
            }
            var eq = raw.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
                throw new ArgumentException(
                    $"Prefix map entry '{raw}' is neither 'from=to' nor '!prefix' (example: '=encoder.,!fc.').", nameof(spec));
            rewrites.Add(new(raw[..eq], raw[(eq + 1)..]));
        }
        if (rewrites.GroupBy(r => r.From).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw new ArgumentException($"Prefix map '{spec}' rewrites the prefix '{dup.Key}' twice.", nameof(spec));
        return new WeightKeyMap(spec, rewrites, ignored);
    }

    /// <summary>The model key for a file key, or null with the reason when the key is ignored.</summary>
    public (string? ModelKey, string? IgnoredBecause) Map(string fileKey)
    {
        foreach (var i in Ignored)
            if (fileKey.StartsWith(i.Prefix, StringComparison.Ordinal)) return (null, i.Reason);
        foreach (var r in Rewrites)
            if (fileKey.StartsWith(r.From, StringComparison.Ordinal)) return (r.To + fileKey[r.From.Length..], null);
        return (fileKey, null);
    }

    /// <summary>The model-key prefixes the file is meant to fill: the rewrite targets (the whole model, "", when there
    /// are none). Model keys outside them are reported as untouched (left as initialised), not as missing.</summary>
    public IReadOnlyList<string> Scope => Rewrites.Count == 0 ? [""] : [.. Rewrites.Select(r => r.To).Distinct()];

    public override string ToString() => Name;
}
