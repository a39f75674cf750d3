using System.Collections;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Models.Weights;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Pretrained weights from PyTorch-style files the tests write themselves (no downloads): torchvision ResNet
/// and MobileNetV2 names, NVlabs MiT names, a whole-model state dict, and broken files.</summary>
public sealed class WeightsTests : IDisposable
{
    private readonly TempDir dir = new();

    public void Dispose() => dir.Dispose();

    /// <summary>Writes a state dict as torch.save's zip format (".pth") or safetensors, by the file's extension.</summary>
    private static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var dict = tensors.ToDictionary(kv => kv.Key, kv => kv.Value);
        using var stream = File.Create(path);
        if (path.EndsWith(".safetensors", StringComparison.Ordinal)) Safetensors.SaveStateDict(stream, dict);
        else PyTorchPickler.PickleStateDict(stream, dict);
    }

    /// <summary>Fills every parameter and BatchNorm statistic with seeded random values (running_var positive),
    /// so that a tensor left at its initial value cannot pass for a loaded one.</summary>
    private static void Randomise(nn.Module module, int seed)
    {
        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (key, t) in module.state_dict())
        {
            if (!t.is_floating_point()) t.fill_(seed);
            else if (key.EndsWith("running_var", StringComparison.Ordinal)) t.copy_(rand(t.shape, generator: generator).add_(0.5));
            else t.copy_(randn(t.shape, generator: generator).mul_(0.1));
        }
    }

    /// <summary>torch.equal: same shape and bitwise-equal values (<c>Tensor.Equals(Tensor)</c> is at::equal).</summary>
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.Equals(b);

    /// <summary>A torchvision ResNet-18 state dict: our encoder's own keys (torchvision names) plus the classifier.</summary>
    private static Dictionary<string, Tensor> TorchvisionResNet18(int seed = 1)
    {
        using var encoder = new ResNetEncoder("resnet18", 3);
        Randomise(encoder, seed);
        var sd = encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        sd["fc.weight"] = randn(1000, 512);
        sd["fc.bias"] = randn(1000);
        return sd;
    }

    // ResNet files are written as safetensors: PyBridge's torch.save writer deflates every entry, which costs seconds
    // for ResNet-18; the smaller MobileNetV2, MiT and UNeXt files below exercise the .pth reader.
    [Fact]
    public void TorchvisionResNetLoadsIntoEncoderByNameAndDropsClassifier()
    {
        var file = TorchvisionResNet18();
        var path = dir["resnet18.safetensors"];
        Write(path, file);
        using var model = ModelRegistry.Create("pspnet", new ModelOptions(3, 1, "resnet18"));

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal("torchvision", report.Mapping);
        Assert.Equal("safetensors", report.Format);
        Assert.Equal(file.Count - 2, report.Loaded.Count);
        Assert.Equal(["fc.bias", "fc.weight"], report.Ignored.Select(i => i.FileKey).Order());
        Assert.Empty(report.Adaptations);
        var state = model.state_dict();
        Assert.Equal(state.Keys.Where(k => !k.StartsWith("encoder.")).Order(), report.Untouched.Order());
        foreach (var (key, tensor) in file.Where(kv => !kv.Key.StartsWith("fc.")))
            Assert.True(Same(state["encoder." + key], tensor), key);
        Assert.Contains(report.Loaded, l => l is { FileKey: "layer1.0.conv1.weight", ModelKey: "encoder.layer1.0.conv1.weight" });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void FirstConvIsAdaptedToTheModelsInputChannelsAndReported(int inChannels)
    {
        var file = TorchvisionResNet18();
        var path = dir["resnet18.safetensors"];
        Write(path, file);
        using var model = ModelRegistry.Create("pspnet", new ModelOptions(inChannels, 1, "resnet18"));

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.True(report.IsComplete, report.ToString());
        var adaptation = Assert.Single(report.Adaptations);
        Assert.Equal("encoder.conv1.weight", adaptation.ModelKey);
        Assert.Equal([64L, 3, 7, 7], adaptation.FileShape);
        Assert.Equal([64L, inChannels, 7, 7], adaptation.ModelShape);
        var rgb = file["conv1.weight"];
        using var expected = inChannels == 1
            ? rgb.sum(1, keepdim: true)
            : cat([rgb, rgb[.., ..1]], 1).mul(3.0 / 4.0);
        Assert.True(Same(model.state_dict()["encoder.conv1.weight"], expected));
        Assert.Contains(inChannels == 1 ? "summed" : "scaled by 3/4", adaptation.Method);
        Assert.Contains("Adapted:", report.ToString());
    }

    [Fact]
    public void ReportListsEveryExtraMissingAndMisShapedKeyAndLoadsTheRest()
    {
        var file = TorchvisionResNet18();
        file["layer5.0.conv1.weight"] = randn(8, 8, 3, 3);
        file.Remove("layer4.1.bn2.running_var");
        file.Remove("bn1.num_batches_tracked");
        file["layer1.0.conv1.weight"] = randn(32, 64, 3, 3);
        var path = dir["broken.safetensors"];
        Write(path, file);
        using var model = ModelRegistry.Create("pspnet", new ModelOptions(3, 1, "resnet18"));
        using var before = model.state_dict()["encoder.layer1.0.conv1.weight"].clone();

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.False(report.IsComplete);
        Assert.Equal(["layer5.0.conv1.weight"], report.Unexpected);
        Assert.Equal(["encoder.layer4.1.bn2.running_var"], report.Missing);
        Assert.Equal(["encoder.bn1.num_batches_tracked"], report.MissingCounters);
        var mismatch = Assert.Single(report.ShapeMismatches);
        Assert.Equal(("layer1.0.conv1.weight", "encoder.layer1.0.conv1.weight"), (mismatch.FileKey, mismatch.ModelKey));
        Assert.Equal([32L, 64, 3, 3], mismatch.FileShape);
        Assert.Equal([64L, 64, 3, 3], mismatch.ModelShape);
        Assert.True(Same(model.state_dict()["encoder.layer1.0.conv1.weight"], before), "a mis-shaped tensor must not be loaded");
        Assert.True(Same(model.state_dict()["encoder.layer1.0.conv2.weight"], file["layer1.0.conv2.weight"]));
        Assert.Equal(file.Count - 2 - 2, report.Loaded.Count); // minus fc.*, the extra key and the mis-shaped one

        var error = Assert.Throws<InvalidDataException>(() => report.ThrowIfIncomplete());
        foreach (var key in new[] { "layer5.0.conv1.weight", "encoder.layer4.1.bn2.running_var", "layer1.0.conv1.weight", "fc.weight" })
            Assert.Contains(key, error.Message);
    }

    [Fact]
    public void TorchvisionMobileNetV2LoadsIntoDeepLabEncoderAndIgnoresTheClassifierAndLastConv()
    {
        using var encoder = new MobileNetV2Encoder(3);
        Randomise(encoder, 2);
        var file = encoder.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        file["features.18.0.weight"] = randn(1280, 320, 1, 1);
        foreach (var s in new[] { "weight", "bias", "running_mean", "running_var" }) file[$"features.18.1.{s}"] = randn(1280);
        file["features.18.1.num_batches_tracked"] = tensor(5L);
        file["classifier.1.weight"] = randn(1000, 1280);
        file["classifier.1.bias"] = randn(1000);
        var path = dir["mobilenet_v2.pth"];
        Write(path, file);
        using var model = ModelRegistry.Create("deeplabv3plus", new ModelOptions(3, 1, "mobilenetv2"));

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal("pytorch-zip", report.Format);
        Assert.Equal(8, report.Ignored.Count);
        Assert.All(report.Ignored, i => Assert.Matches("^(features\\.18\\.|classifier\\.)", i.FileKey));
        var state = model.state_dict();
        Assert.Equal(file.Count - 8, report.Loaded.Count);
        Assert.True(Same(state["encoder.features.17.conv.2.weight"], file["features.17.conv.2.weight"]));
        Assert.True(Same(state["encoder.features.0.0.weight"], file["features.0.0.weight"]));
    }

    /// <summary>The keys of NVlabs/SegFormer's ImageNet <c>mit_b0.pth</c>, written out from mix_transformer.py
    /// (dims 32/64/160/256, depth 2 per stage, attention reduction 8/4/2/1, so stage 4 has no <c>sr</c>/<c>norm</c>).</summary>
    private static List<string> OfficialMitB0Keys()
    {
        var keys = new List<string>();
        string[] wb = ["weight", "bias"];
        for (var stage = 1; stage <= 4; stage++)
        {
            foreach (var p in wb) keys.Add($"patch_embed{stage}.proj.{p}");
            foreach (var p in wb) keys.Add($"patch_embed{stage}.norm.{p}");
            for (var block = 0; block < 2; block++)
            {
                var layers = new List<string> { "norm1", "attn.q", "attn.kv", "attn.proj" };
                if (stage < 4) layers.AddRange(["attn.sr", "attn.norm"]);
                layers.AddRange(["norm2", "mlp.fc1", "mlp.dwconv.dwconv", "mlp.fc2"]);
                foreach (var layer in layers)
                foreach (var p in wb)
                    keys.Add($"block{stage}.{block}.{layer}.{p}");
            }
            foreach (var p in wb) keys.Add($"norm{stage}.{p}");
        }
        return keys;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void OfficialMitB0NamesLoadIntoSegFormerBackbone(int inChannels)
    {
        // The donor's backbone provides the values; the file is keyed by the official names.
        using var donor = ModelRegistry.Create("segformer", new ModelOptions(3, 1, "b0"));
        Randomise(donor, 3);
        var backbone = donor.state_dict().Where(kv => kv.Key.StartsWith("backbone."))
            .ToDictionary(kv => kv.Key["backbone.".Length..], kv => kv.Value.detach().clone());
        var official = OfficialMitB0Keys();
        Assert.Equal(official.Order(), backbone.Keys.Order());
        var file = official.ToDictionary(k => k, k => backbone[k]);
        file["head.weight"] = randn(1000, 256);
        file["head.bias"] = randn(1000);
        var path = dir["mit_b0.pth"];
        Write(path, file);
        using var model = ModelRegistry.Create("segformer", new ModelOptions(inChannels, 1, "b0"));

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal("mit", report.Mapping);
        Assert.Equal(["head.bias", "head.weight"], report.Ignored.Select(i => i.FileKey).Order());
        Assert.All(report.Untouched, k => Assert.StartsWith("decode_head.", k));
        Assert.Equal(official.Count, report.Loaded.Count);
        var state = model.state_dict();
        foreach (var key in official.Where(k => k != "patch_embed1.proj.weight"))
            Assert.True(Same(state["backbone." + key], file[key]), key);
        if (inChannels == 3)
        {
            Assert.True(Same(state["backbone.patch_embed1.proj.weight"], file["patch_embed1.proj.weight"]));
            Assert.Empty(report.Adaptations);
        }
        else
        {
            Assert.Equal("backbone.patch_embed1.proj.weight", Assert.Single(report.Adaptations).ModelKey);
        }
    }

    [Fact]
    public void MmsegSegFormerCheckpointLoadsWholeOrWithAPrefixMapOnlyItsBackbone()
    {
        // mmseg's SegFormer keys are our whole-model keys; an ADE20K head has 150 output channels.
        using var donor = ModelRegistry.Create("segformer", new ModelOptions(3, 150, "b0"));
        Randomise(donor, 6);
        var path = dir["segformer_ade.safetensors"];
        Write(path, donor.state_dict());
        using var whole = ModelRegistry.Create("segformer", new ModelOptions(3, 1, "b0"));
        using var backboneOnly = ModelRegistry.Create("segformer", new ModelOptions(3, 1, "b0"));

        var wholeReport = PretrainedWeights.LoadInto(whole, path);
        var backboneReport = PretrainedWeights.LoadInto(backboneOnly, path, "backbone.=backbone.,!decode_head.");

        Assert.Equal("identity", wholeReport.Mapping);
        Assert.Equal(["decode_head.linear_pred.bias", "decode_head.linear_pred.weight"],
            wholeReport.ShapeMismatches.Select(m => m.ModelKey).Order());
        Assert.True(Same(whole.state_dict()["decode_head.linear_fuse.conv.weight"], donor.state_dict()["decode_head.linear_fuse.conv.weight"]));
        Assert.True(backboneReport.IsComplete, backboneReport.ToString());
        Assert.All(backboneReport.Ignored, i => Assert.StartsWith("decode_head.", i.FileKey));
        Assert.All(backboneReport.Untouched, k => Assert.StartsWith("decode_head.", k));
        Assert.Equal(donor.state_dict().Keys.Count(k => k.StartsWith("backbone.")), backboneReport.Loaded.Count);
    }

    [Fact]
    public void WholeModelStateDictLoadsByNameAndAPrefixMapStripsDataParallelNames()
    {
        using var source = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        Randomise(source, 4);
        var path = dir["unext.pth"];
        source.save_py(path);
        var prefixed = dir["unext-dp.pth"];
        Write(prefixed, source.state_dict().Select(kv => new KeyValuePair<string, Tensor>("module." + kv.Key, kv.Value)));

        using var a = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        var identity = PretrainedWeights.LoadInto(a, path);
        using var b = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        var stripped = PretrainedWeights.LoadInto(b, prefixed, "module.=");
        using var c = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        var unmapped = PretrainedWeights.LoadInto(c, prefixed);

        Assert.True(identity.IsComplete, identity.ToString());
        Assert.Equal("identity", identity.Mapping);
        Assert.True(stripped.IsComplete, stripped.ToString());
        Assert.Equal("module.=", stripped.Mapping);
        var expected = source.state_dict();
        Assert.Equal(expected.Count, identity.Loaded.Count);
        Assert.Empty(identity.Untouched);
        foreach (var (key, t) in expected)
        {
            Assert.True(Same(a.state_dict()[key], t), key);
            Assert.True(Same(b.state_dict()[key], t), key);
        }
        // Without the map nothing fits, and the report says so key by key rather than loading nothing quietly.
        Assert.Empty(unmapped.Loaded);
        Assert.Equal(expected.Count, unmapped.Unexpected.Count);
        Assert.Equal(expected.Count(kv => !kv.Key.EndsWith("num_batches_tracked")), unmapped.Missing.Count);
    }

    [Fact]
    public void HalfPrecisionFileIsConvertedToTheModelsFloat32()
    {
        using var source = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        Randomise(source, 7);
        var half = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.is_floating_point() ? kv.Value.to(float16) : kv.Value);
        var path = dir["unext-fp16.safetensors"];
        Write(path, half);
        using var model = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.True(report.IsComplete, report.ToString());
        var loaded = model.state_dict()["encoder1.weight"];
        Assert.Equal(ScalarType.Float32, loaded.dtype);
        Assert.True(Same(loaded, half["encoder1.weight"].to(float32)));
    }

    [Fact]
    public void WrappedCheckpointIsUnwrapped()
    {
        using var source = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        Randomise(source, 5);
        var path = dir["checkpoint.pth"];
        using (var stream = File.Create(path))
            PyTorchPickler.PickleStateDict(stream, new Hashtable { ["state_dict"] = source.state_dict(), ["epoch"] = 90 });
        using var model = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));

        var report = PretrainedWeights.LoadInto(model, path);

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal("pytorch-zip, under 'state_dict'", report.Format);
        Assert.True(Same(model.state_dict()["final.weight"], source.state_dict()["final.weight"]));
    }

    [Fact]
    public void UnreadableFilesAreRefusedWithTheReason()
    {
        using var model = ModelRegistry.Create("unext", new ModelOptions(3, 1, "s"));
        var legacy = dir["legacy.pth"];
        File.WriteAllBytes(legacy, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]);
        var text = dir["notes.pth"];
        File.WriteAllText(text, "not a state dict");

        Assert.Contains("legacy", Assert.Throws<NotSupportedException>(() => PretrainedWeights.LoadInto(model, legacy)).Message);
        Assert.Throws<InvalidDataException>(() => PretrainedWeights.LoadInto(model, text));
        Assert.Throws<FileNotFoundException>(() => PretrainedWeights.LoadInto(model, dir["absent.pth"]));
        Assert.Throws<ArgumentException>(() => PretrainedWeights.LoadInto(model, text, "encoder."));
    }
}
