using MedSeg.Engine.Training;

namespace MedSeg.Engine.Export;

/// <summary>
/// <c>model.json</c> of an export: what a Python (or any other) user needs to rebuild the network, feed it the same
/// input as MedSeg does, and turn its logits into the same mask.
/// </summary>
public sealed record ExportManifest(
    /// <summary><see cref="ModelExporter.FormatVersion"/>.</summary>
    string Format,
    ExportedArchitecture Architecture,
    ExportedInput Input,
    /// <summary>The normalization recorded by the trainer in run.json (as written there).</summary>
    NormalizationInfo Normalization,
    /// <summary>The same pipeline as numbers, for the recorded method; null when run.json names a method this engine
    /// version does not know (then <see cref="Normalization"/> is the only description).</summary>
    ExportedPreprocessing? Preprocessing,
    ExportedOutput Output,
    ExportedCheckpoint Checkpoint,
    ExportedFiles Files,
    /// <summary>Every key of the state dict, in the order the files store it, with shape and dtype.</summary>
    IReadOnlyList<ExportedTensor> StateDict,
    /// <summary>run.json of the run, unchanged (optimizer, learning rate, epochs, seed, ...).</summary>
    RunManifest Run,
    string TorchSharpVersion,
    DateTimeOffset ExportedUtc,
    /// <summary>The run's resize policy and normalization as parameters (run.json's recipe; the default pipeline for older
    /// runs): <c>Resize</c> Stretch or Letterbox (see <c>LetterboxGeometry</c>), <c>Normalization</c> mode and per-channel values.
    /// <see cref="Preprocessing"/> spells out the default pipeline; for any other, this is the exact description.</summary>
    Data.Pipeline.PreprocessingOptions? PreprocessingOptions = null);

/// <param name="Name">Registry name (<c>unext</c>, <c>segformer</c>, ...).</param>
/// <param name="Variant">The resolved variant (the architecture's default when run.json has none).</param>
/// <param name="Reference">The implementation whose state-dict names the model follows, for rebuilding it in PyTorch.</param>
/// <param name="SizeMultiple">Input height and width must be multiples of this.</param>
public sealed record ExportedArchitecture(string Name, string Variant, int InChannels, int Classes, int SizeMultiple,
    long Parameters, string Reference);

/// <param name="Height">The training size: images are resized to Height × Width before the model.</param>
/// <param name="Layout">Always <c>NCHW</c>.</param>
/// <param name="DType">Always <c>float32</c>.</param>
/// <param name="Channels">Channel order of the tensor fed to the model (<c>RGB</c> or <c>grey</c>).</param>
public sealed record ExportedInput(int Height, int Width, string Layout, string DType, string Channels);

/// <summary>MedSeg's image pipeline (<c>Preprocessing.Prepare</c>) as parameters.</summary>
/// <param name="PixelValues">What the decoded samples are before normalization.</param>
/// <param name="GreyToColour">How a 1-band image becomes the model's channels when it takes 3.</param>
/// <param name="ColourToGreyWeights">R, G, B weights when a colour image feeds a 1-channel model.</param>
/// <param name="Resize">Interpolation to the input size.</param>
/// <param name="Antialias">torch.nn.functional.interpolate's antialias flag.</param>
/// <param name="AlignCorners">torch.nn.functional.interpolate's align_corners flag.</param>
/// <param name="ZScore">How each image is standardised after resizing.</param>
/// <param name="StdFloor">A channel whose standard deviation is below this is divided by 1 instead.</param>
public sealed record ExportedPreprocessing(string PixelValues, string GreyToColour, double[] ColourToGreyWeights,
    string Resize, bool Antialias, bool AlignCorners, string ZScore, double StdFloor);

/// <param name="Activation"><c>sigmoid</c> (one logit channel) or <c>softmax</c> (one channel per class).</param>
/// <param name="Decision"><c>threshold</c> (probability ≥ <see cref="Threshold"/>) or <c>argmax</c>.</param>
/// <param name="Threshold">The probability threshold of binary models; null for argmax.</param>
/// <param name="ToOriginalSize">How MedSeg brings the prediction back to the image's size.</param>
/// <param name="ClassMap">Mask value → class name.</param>
public sealed record ExportedOutput(string Activation, string Decision, double? Threshold, string ToOriginalSize,
    IReadOnlyList<ExportedClass> ClassMap);

/// <param name="Value">The mask value written for this class.</param>
/// <param name="Channel">The logit channel the class is read from (binary: channel 0 for foreground, none for background).</param>
public sealed record ExportedClass(int Value, string Name, int? Channel);

/// <param name="Tag"><c>best</c> or <c>last</c>.</param>
/// <param name="Epoch">The epoch the checkpoint was saved after (0 when its state file is missing).</param>
public sealed record ExportedCheckpoint(string Tag, int Epoch, int BestEpoch, double BestValidationDice, string SourceRunDirectory);

/// <param name="TorchSharp">TorchSharp <c>module.save</c> format: <c>model.load(path)</c> in .NET.</param>
/// <param name="PyTorch"><c>torch.load(path)</c> gives the state dict (zip format, PyTorch ≥ 1.6).</param>
/// <param name="Safetensors">The same tensors as safetensors.</param>
public sealed record ExportedFiles(string TorchSharp, string PyTorch, string Safetensors, string Manifest);

public sealed record ExportedTensor(string Key, long[] Shape, string DType);

/// <summary>What <see cref="ModelExporter.Export"/> wrote (absolute paths) and the manifest it wrote.</summary>
public sealed record ExportResult(string OutputDirectory, string TorchSharpPath, string PyTorchPath, string SafetensorsPath,
    string ManifestPath, ExportManifest Manifest);
