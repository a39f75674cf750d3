using System.Text.Encodings.Web;
using System.Text.Json;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Training;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MedSeg.Engine.Export;

/// <summary>
/// Exports a trained run for use outside MedSeg: <c>model.dat</c> (TorchSharp <c>module.save</c>), <c>model.pt</c>
/// (a PyTorch state dict: <c>torch.load</c> it and <c>load_state_dict</c> into the reference architecture),
/// <c>model.safetensors</c> (the same tensors), and <c>model.json</c> (<see cref="ExportManifest"/>: architecture,
/// input size, normalization, threshold/argmax, class map, and every state-dict key with its shape).
/// </summary>
public static class ModelExporter
{
    public const string FormatVersion = "medseg-export/1";
    public const string TorchSharpFile = "model.dat";
    public const string PyTorchFile = "model.pt";
    public const string SafetensorsFile = "model.safetensors";
    public const string ManifestFile = "model.json";

    // Relaxed escaping keeps "×" and "–" readable in model.json (it is a file, never embedded in HTML).
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The implementation each architecture's state-dict names follow (see docs/models.md).</summary>
    private static readonly Dictionary<string, string> References = new(StringComparer.OrdinalIgnoreCase)
    {
        ["unext"] = "jeya-maria-jose/UNeXt-pytorch archs.py: UNext (variant s: UNext_S)",
        ["unet"] = "milesial/Pytorch-UNet (inc, down1..4, up1..4, outc)",
        ["unetplusplus"] = "NestedUNet as in the UNeXt comparison (conv0_0 .. conv0_4, final; deepsup: final1..final4)",
        ["segformer"] = "NVlabs/SegFormer: MixVisionTransformer as backbone, SegFormerHead as decode_head (linear_fuse as mmcv ConvModule)",
        ["pspnet"] = "torchvision ResNet as encoder (dilated, output stride 8) + hszhao/semseg PPM",
        ["hrnet"] = "HRNet/HRNet-Semantic-Segmentation (HRNetV2 seg head as last_layer)",
        ["deeplabv3plus"] = "torchvision ResNet/MobileNetV2 as encoder (output stride 16) + torchvision ASPP names",
    };

    /// <summary>
    /// Exports the run in <paramref name="runDirectory"/> (run.json + checkpoints/best.pt, else last.pt, as the
    /// predictor chooses; or the checkpoint named by <paramref name="checkpointTag"/>) into
    /// <paramref name="outputDirectory"/>, which is created. Existing export files there are replaced; each file is
    /// written under a temporary name and renamed into place.
    /// </summary>
    public static ExportResult Export(string runDirectory, string outputDirectory, string? checkpointTag = null)
    {
        var run = RunManifest.Read(runDirectory);
        foreach (var t in new[] { "best", "last", checkpointTag }.OfType<string>().Distinct()) Checkpoints.Recover(runDirectory, t);
        var tag = checkpointTag
                  ?? new[] { "best", "last" }.FirstOrDefault(t => File.Exists(Checkpoints.Weights(runDirectory, t)))
                  ?? throw new FileNotFoundException(
                      $"{runDirectory} has no checkpoint (checkpoints/best.pt or last.pt): the run has not finished an epoch.");
        var weights = Checkpoints.Weights(runDirectory, tag);
        if (!File.Exists(weights)) throw new FileNotFoundException($"{weights} does not exist.", weights);
        var state = Checkpoints.ReadState(runDirectory, tag);

        using var model = ModelRegistry.Create(run.Model, run.ModelOptions);
        model.load(weights);
        model.eval();

        Directory.CreateDirectory(outputDirectory);
        var output = Path.GetFullPath(outputDirectory);
        string Out(string name) => Path.Combine(output, name);

        WriteAtomically(Out(TorchSharpFile), path => model.save(path));
        WriteAtomically(Out(PyTorchFile), path =>
        {
            using var stream = File.Create(path);
            model.save_py(stream);
        });
        WriteAtomically(Out(SafetensorsFile), path =>
        {
            using var stream = File.Create(path);
            model.save_safetensors(stream);
        });

        var manifest = Describe(model, run, tag, state, Path.GetFullPath(runDirectory));
        WriteAtomically(Out(ManifestFile), path => File.WriteAllText(path, JsonSerializer.Serialize(manifest, Json)));
        return new ExportResult(output, Out(TorchSharpFile), Out(PyTorchFile), Out(SafetensorsFile), Out(ManifestFile), manifest);
    }

    /// <summary>Reads an export's <c>model.json</c>.</summary>
    public static ExportManifest ReadManifest(string exportDirectory)
    {
        var path = Path.Combine(exportDirectory, ManifestFile);
        return JsonSerializer.Deserialize<ExportManifest>(File.ReadAllText(path), Json)
               ?? throw new InvalidDataException($"{path} is empty.");
    }

    private static ExportManifest Describe(SegmentationModel model, RunManifest run, string tag, CheckpointState? state, string runDirectory)
    {
        var options = run.ModelOptions;
        var variant = (model as IVariantModel)?.Variant ?? options.Variant ?? "default";
        var architecture = new ExportedArchitecture(run.Model.ToLowerInvariant(), variant, options.InChannels, options.Classes,
            model.SizeMultiple, model.ParameterCount(), References.GetValueOrDefault(run.Model, "MedSeg.Engine (no external reference)"));
        var input = new ExportedInput(run.ImageSize, run.ImageSize, "NCHW", "float32", options.InChannels == 1 ? "grey" : "RGB");
        var preprocessing = run.PreprocessingOptions.IsDefault && run.Normalization.Method == Training.Preprocessing.Normalization.Method
            ? new ExportedPreprocessing(
                PixelValues: "the stored sample values as float (0–255 for 8-bit images, 0–65535 for 16-bit; no division by 255, the z-score makes the scale irrelevant); alpha dropped",
                GreyToColour: "replicate the grey band to every channel",
                ColourToGreyWeights: [0.299, 0.587, 0.114],
                Resize: "bilinear to Height × Width",
                Antialias: true,
                AlignCorners: false,
                ZScore: "per image and per channel, after resizing: (x - mean) / std, population std (unbiased=False) over H and W",
                StdFloor: 1e-6)
            : null;
        var output = options.Classes == 1
            ? new ExportedOutput("sigmoid", "threshold", run.Threshold,
                "sigmoid probabilities resized bilinearly (align_corners=false) to the original image size, then thresholded (>=)",
                [new ExportedClass(0, "background", null), new ExportedClass(1, "foreground", 0)])
            : new ExportedOutput("softmax", "argmax", null,
                "softmax probabilities resized bilinearly (align_corners=false) to the original image size, then argmax over channels",
                [.. Enumerable.Range(0, options.Classes).Select(c => new ExportedClass(c, c == 0 ? "background" : $"label {c}", c))]);
        var checkpoint = new ExportedCheckpoint(tag, state?.Epoch ?? 0, state?.BestEpoch ?? 0, state?.BestValidationDice ?? 0, runDirectory);
        var tensors = model.state_dict()
            .Select(kv => new ExportedTensor(kv.Key, kv.Value.shape, DTypeName(kv.Value.dtype)))
            .ToList();
        return new ExportManifest(FormatVersion, architecture, input, run.Normalization, preprocessing, output, checkpoint,
            new ExportedFiles(TorchSharpFile, PyTorchFile, SafetensorsFile, ManifestFile), tensors, run,
            typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown", DateTimeOffset.UtcNow, run.PreprocessingOptions);
    }

    /// <summary>PyTorch's name for a dtype (<c>float32</c>, <c>int64</c>, ...).</summary>
    private static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float64 => "float64",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Int64 => "int64",
        ScalarType.Int32 => "int32",
        ScalarType.Int16 => "int16",
        ScalarType.Int8 => "int8",
        ScalarType.Byte => "uint8",
        ScalarType.Bool => "bool",
        _ => dtype.ToString().ToLowerInvariant(),
    };

    private static void WriteAtomically(string path, Action<string> write)
    {
        var tmp = path + ".tmp";
        File.Delete(tmp);
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}
