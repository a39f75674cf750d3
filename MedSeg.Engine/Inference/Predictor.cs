using TorchSharp;
using MedSeg.Engine.Data;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using static TorchSharp.torch;

namespace MedSeg.Engine.Inference;

/// <summary>
/// A trained model loaded from a run directory (run.json + checkpoints/best.pt, else last.pt), ready to predict masks at
/// the original image size. Not thread-safe: use one predictor per thread.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly SegmentationModel model;
    private readonly Device device;

    private Predictor(RunManifest manifest, SegmentationModel model, Device device, string checkpoint)
    {
        Manifest = manifest;
        this.model = model;
        this.device = device;
        Checkpoint = checkpoint;
    }

    public RunManifest Manifest { get; }

    /// <summary>The weights file that was loaded.</summary>
    public string Checkpoint { get; }

    public static Predictor Load(string runDirectory, string device = "auto")
    {
        var manifest = RunManifest.Read(runDirectory);
        Checkpoints.Recover(runDirectory, "best");
        Checkpoints.Recover(runDirectory, "last");
        var weights = new[] { "best", "last" }.Select(t => Checkpoints.Weights(runDirectory, t)).FirstOrDefault(File.Exists)
                      ?? throw new FileNotFoundException($"{runDirectory} has no checkpoint (checkpoints/best.pt or last.pt): the run has not finished an epoch.");
        var dev = Devices.Resolve(device);
        var model = ModelRegistry.Create(manifest.Model, manifest.ModelOptions);
        try
        {
            model.load(weights);
            model.to(dev);
            model.eval();
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new Predictor(manifest, model, dev, Path.GetFullPath(weights));
    }

    /// <summary>Predicts a 0/1 mask (one byte per pixel) at the image's original size.</summary>
    public BinaryMask Predict(string imagePath)
    {
        var image = Preprocessing.LoadImage(imagePath, Manifest.ImageSize, Manifest.ModelOptions.InChannels);
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var x = tensor(image.Pixels, [1, image.Channels, image.Size, image.Size]).to(device);
        var probabilities = model.call(x).sigmoid()[0, 0];
        var mask = Preprocessing.ToOriginalSize(probabilities, image.OriginalWidth, image.OriginalHeight, Manifest.Threshold);
        return new BinaryMask(image.OriginalWidth, image.OriginalHeight, mask);
    }

    /// <summary>The predicted mask of one image as a 0/255 PNG at the image's original size.</summary>
    public byte[] PredictPng(string imagePath)
    {
        var mask = Predict(imagePath);
        var pixels = mask.Pixels.Select(p => p != 0 ? (byte)255 : (byte)0).ToArray();
        return ImageDecoder.EncodePng(pixels, mask.Width, mask.Height, 1);
    }

    /// <summary>
    /// Predicts every case, writes <c>{outputDirectory}/{name}.png</c> (0/255, original size) and scores it against the
    /// case's mask at the original resolution (policy for empty masks: <see cref="SegmentationMetrics"/>).
    /// </summary>
    public IReadOnlyList<CasePrediction> Evaluate(IReadOnlyList<TrainingCase> cases, string outputDirectory, CancellationToken ct = default)
    {
        Directory.CreateDirectory(outputDirectory);
        var results = new List<CasePrediction>(cases.Count);
        foreach (var c in cases)
        {
            ct.ThrowIfCancellationRequested();
            var predicted = Predict(c.ImagePath);
            var truth = MaskReader.Read(c.MaskPath);
            if (truth.Width != predicted.Width || truth.Height != predicted.Height)
                throw new InvalidDataException(
                    $"Case '{c.Name}': the mask is {truth.Width}×{truth.Height} but the image is {predicted.Width}×{predicted.Height}.");
            var path = Path.GetFullPath(Path.Combine(outputDirectory, c.Name + ".png"));
            Preprocessing.WriteMaskPng(predicted.Pixels, predicted.Width, predicted.Height, path);
            var counts = ConfusionCounts.From(predicted.Pixels, truth.Pixels);
            results.Add(new CasePrediction(c.Name, path, SegmentationMetrics.Dice(counts), SegmentationMetrics.IoU(counts),
                SegmentationMetrics.Precision(counts), SegmentationMetrics.Recall(counts)));
        }
        return results;
    }

    public void Dispose() => model.Dispose();
}
