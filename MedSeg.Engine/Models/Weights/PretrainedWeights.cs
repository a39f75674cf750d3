using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Weights;

/// <summary>
/// Loads pretrained weights (a PyTorch state dict saved with <c>torch.save(model.state_dict(), path)</c>, or a
/// <c>.safetensors</c> file) into a zoo model, key by key, and reports every key (<see cref="WeightLoadReport"/>).
/// Nothing is downloaded: the caller provides the file.
/// </summary>
public static class PretrainedWeights
{
    /// <summary>
    /// Copies the tensors of <paramref name="path"/> into <paramref name="model"/> (converted to the model's dtype and
    /// device). <paramref name="prefixMap"/> null chooses the key map itself: keys as they are (a whole-model state dict,
    /// e.g. a MedSeg export) or the architecture's backbone map (<see cref="WeightKeyMap.Torchvision"/> for models with a
    /// ResNet/MobileNetV2 <c>encoder.</c>, <see cref="WeightKeyMap.MixTransformer"/> for SegFormer), whichever places
    /// more of the file's keys; otherwise it is parsed by <see cref="WeightKeyMap.Parse"/>.
    /// When the file's first conv has another number of input channels than the model (ImageNet RGB weights for
    /// 1-channel CT), it is adapted as timm's <c>adapt_input_conv</c> and smp's <c>patch_first_conv</c> do: summed over
    /// the RGB filters for 1 channel, otherwise repeated cyclically and scaled by (file channels / model channels).
    /// Tensors that do not fit are not loaded and are listed; the call only throws for unreadable files.
    /// </summary>
    public static WeightLoadReport LoadInto(SegmentationModel model, string path, string? prefixMap = null)
    {
        var map = prefixMap is null ? null : WeightKeyMap.Parse(prefixMap);
        using var file = StateDictFile.Read(path);
        return LoadInto(model, file, map);
    }

    /// <summary>As <see cref="LoadInto(SegmentationModel, string, string?)"/>, from tensors already read
    /// (<paramref name="map"/> null: chosen as described there).</summary>
    public static WeightLoadReport LoadInto(SegmentationModel model, StateDict file, WeightKeyMap? map = null)
    {
        var format = file.Container is null ? file.Format : $"{file.Format}, under '{file.Container}'";
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var target = model.state_dict();
        map ??= ChooseMap(target, file.Tensors.Select(t => t.Key));
        var firstConv = FirstConvKey(model, target, map.Scope);

        var loaded = new List<LoadedWeight>();
        var unexpected = new List<string>();
        var ignored = new List<IgnoredWeight>();
        var mismatches = new List<ShapeMismatch>();
        var adaptations = new List<WeightAdaptation>();
        var filled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (fileKey, source) in file.Tensors)
        {
            var (modelKey, reason) = map.Map(fileKey);
            if (modelKey is null)
            {
                ignored.Add(new(fileKey, reason!));
                continue;
            }
            if (!target.TryGetValue(modelKey, out var destination) || !filled.Add(modelKey))
            {
                unexpected.Add(fileKey);
                continue;
            }
            if (source.shape.SequenceEqual(destination.shape))
            {
                destination.copy_(source);
                loaded.Add(new(fileKey, modelKey));
            }
            else if (modelKey == firstConv && Adapt(source, destination) is { } method)
            {
                adaptations.Add(new(modelKey, source.shape, destination.shape, method));
                loaded.Add(new(fileKey, modelKey));
            }
            else
            {
                mismatches.Add(new(fileKey, modelKey, source.shape, destination.shape));
            }
        }

        var scopePrefixes = map.Scope;
        var missing = new List<string>();
        var counters = new List<string>();
        var untouched = new List<string>();
        foreach (var key in target.Keys)
        {
            if (filled.Contains(key)) continue; // loaded, adapted or listed as a shape mismatch
            if (!scopePrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal))) untouched.Add(key);
            else if (key.EndsWith(".num_batches_tracked", StringComparison.Ordinal)) counters.Add(key);
            else missing.Add(key);
        }
        return new WeightLoadReport(file.Path, format, map.Name, loaded, missing, counters, unexpected, ignored, mismatches,
            adaptations, untouched);
    }

    /// <summary>The identity map or the architecture's backbone map, whichever places more file keys on model keys
    /// (ties go to identity).</summary>
    public static WeightKeyMap ChooseMap(IReadOnlyDictionary<string, Tensor> modelState, IEnumerable<string> fileKeys)
    {
        var keys = fileKeys.ToList();
        int Hits(WeightKeyMap m) => keys.Count(k => m.Map(k).ModelKey is { } mk && modelState.ContainsKey(mk));
        var best = WeightKeyMap.Identity;
        var bestHits = Hits(best);
        foreach (var candidate in BackboneMaps(modelState))
        {
            var hits = Hits(candidate);
            if (hits > bestHits) (best, bestHits) = (candidate, hits);
        }
        return best;
    }

    /// <summary>The backbone maps that apply to a model, recognised from its keys.</summary>
    private static IEnumerable<WeightKeyMap> BackboneMaps(IReadOnlyDictionary<string, Tensor> modelState)
    {
        if (modelState.ContainsKey("encoder.conv1.weight") || modelState.ContainsKey("encoder.features.0.0.weight"))
            yield return WeightKeyMap.Torchvision;
        if (modelState.ContainsKey("backbone.patch_embed1.proj.weight"))
            yield return WeightKeyMap.MixTransformer;
    }

    /// <summary>The model's input conv within the mapped scope: the first 4-D weight (registration order) whose
    /// input-channel dimension is the model's <see cref="ModelOptions.InChannels"/>.</summary>
    private static string? FirstConvKey(SegmentationModel model, IReadOnlyDictionary<string, Tensor> state, IReadOnlyList<string> scope) =>
        state.FirstOrDefault(kv => kv.Value.dim() == 4 && kv.Key.EndsWith(".weight", StringComparison.Ordinal)
                                   && scope.Any(p => kv.Key.StartsWith(p, StringComparison.Ordinal))).Key is { } key
        && state[key].shape[1] == model.Options.InChannels
            ? key
            : null;

    /// <summary>Adapts a conv weight to another number of input channels (timm adapt_input_conv / smp patch_first_conv);
    /// null when only the input channels may differ and something else does.</summary>
    private static string? Adapt(Tensor source, Tensor destination)
    {
        if (source.dim() != 4 || destination.dim() != 4 || source.shape[0] != destination.shape[0]
            || source.shape[2] != destination.shape[2] || source.shape[3] != destination.shape[3])
            return null;
        long from = source.shape[1], to = destination.shape[1];
        var weight = source.to(float32);
        string method;
        if (to == 1)
        {
            weight = weight.sum(1, keepdim: true);
            method = $"the {from} input-channel filters summed into 1 (timm adapt_input_conv, smp patch_first_conv)";
        }
        else
        {
            var repeats = (to + from - 1) / from;
            using var ratio = (from / (double)to).ToScalar();
            weight = weight.repeat(1, repeats, 1, 1)[.., ..(int)to].mul(ratio);
            var scale = (from / (double)to).ToString("0.###", CultureInfo.InvariantCulture);
            method = $"the {from} input-channel filters repeated cyclically to {to} and scaled by {from}/{to} = {scale} " +
                     "(timm adapt_input_conv, smp patch_first_conv)";
        }
        destination.copy_(weight);
        return method;
    }
}
