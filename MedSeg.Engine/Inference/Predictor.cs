using TorchSharp;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Models;
using PixelSpacing = MedSeg.Engine.Metrics.PixelSpacing;
using MedSeg.Engine.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MedSeg.Engine.Inference;

/// <summary>
/// A trained model loaded from a run directory (run.json + checkpoints/best.pt, else last.pt), ready to predict masks at
/// the original image size. By default it runs the fast path (<see cref="InferenceOptions.FastPath"/>: BatchNorm folded,
/// channels-last, under <c>inference_mode</c>). Binary models (1 class) are thresholded at run.json's threshold; multi-class
/// models take the argmax of the softmax. Not thread-safe: use one predictor per thread.
/// </summary>
public sealed class Predictor : IDisposable
{
    private readonly SegmentationModel model;
    private readonly UNeXtFastPath? fastPath;
    private readonly Device device;

    private Predictor(RunManifest manifest, SegmentationModel model, Device device, string checkpoint, InferenceOptions options)
    {
        Manifest = manifest;
        this.model = model;
        this.device = device;
        Checkpoint = checkpoint;
        Options = options;
        if (options.FastPath)
        {
            if (model is Models.UNeXt.UNeXt unext) fastPath = new UNeXtFastPath(unext);
            else FoldedPairs = BatchNormFolding.Fold(model);
        }
    }

    public RunManifest Manifest { get; }

    /// <summary>How images are prepared: run.json's recorded resize policy and normalization (with the values the trainer
    /// resolved), or the default pipeline for runs that predate them.</summary>
    public PreprocessingOptions Preprocessing => Manifest.PreprocessingOptions;

    public InferenceOptions Options { get; }

    /// <summary>The weights file that was loaded.</summary>
    public string Checkpoint { get; }

    /// <summary>Conv → BatchNorm pairs folded in the module (models other than UNeXt, fast path on).</summary>
    public IReadOnlyList<string> FoldedPairs { get; } = [];

    /// <summary>Output classes of the model (1 = binary).</summary>
    public int Classes => (int)Manifest.ModelOptions.Classes;

    public static Predictor Load(string runDirectory, string device = "auto") => Load(runDirectory, device, null);

    public static Predictor Load(string runDirectory, string device, InferenceOptions? options)
    {
        options ??= InferenceOptions.Default;
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"BatchSize must be at least 1, got {options.BatchSize}.");
        var manifest = RunManifest.Read(runDirectory);
        Checkpoints.Recover(runDirectory, "best");
        Checkpoints.Recover(runDirectory, "last");
        var weights = new[] { "best", "last" }.Select(t => Checkpoints.Weights(runDirectory, t)).FirstOrDefault(File.Exists)
                      ?? throw new FileNotFoundException($"{runDirectory} has no checkpoint (checkpoints/best.pt or last.pt): the run has not finished an epoch.");
        var dev = Devices.Resolve(device);
        if (options.Threads is int threads) set_num_threads(threads);
        var model = ModelRegistry.Create(manifest.Model, manifest.ModelOptions);
        Predictor? predictor = null;
        try
        {
            model.load(weights);
            model.to(dev);
            model.eval();
            predictor = new Predictor(manifest, model, dev, Path.GetFullPath(weights), options);
            if (options.WarmUp) predictor.WarmUp();
            return predictor;
        }
        catch
        {
            if (predictor is not null) predictor.Dispose();
            else model.Dispose();
            throw;
        }
    }

    /// <summary>Logits (N, Classes, H, W) of a prepared batch, through the fast path when it is on. Call under inference_mode.</summary>
    public Tensor Forward(Tensor batch) => fastPath is not null ? fastPath.Forward(batch) : model.call(batch);

    /// <summary>Probabilities (sigmoid for one class, softmax over classes otherwise), with flip TTA when it is on.</summary>
    public Tensor Probabilities(Tensor batch)
    {
        Tensor Once(Tensor x)
        {
            using var logits = Forward(x);
            return Classes == 1 ? logits.sigmoid() : logits.softmax(1);
        }
        return Options.TestTimeAugmentation ? TestTimeAugmentation.Apply(batch, Once) : Once(batch);
    }

    /// <summary>Predicts a mask at the image's original size: 0/1 for binary models, label indices for multi-class ones.</summary>
    public BinaryMask Predict(string imagePath) => PredictMany([imagePath])[0];

    /// <summary>Predicts several images, <see cref="InferenceOptions.BatchSize"/> per forward pass (Resize mode: every image is
    /// resized to the training size, so they always stack; SlidingWindow mode batches the windows of one image).</summary>
    public IReadOnlyList<BinaryMask> PredictMany(IReadOnlyList<string> imagePaths, CancellationToken ct = default) =>
        Predict(imagePaths.Count, i => ImageDecoder.DecodeFile(imagePaths[i]), ct);

    /// <summary><see cref="PredictMany"/> of decoded images (the slices of a volume, <see cref="VolumePrediction"/>): the same
    /// preprocessing as image files.</summary>
    public IReadOnlyList<BinaryMask> PredictRasters(IReadOnlyList<Raster> rasters, CancellationToken ct = default) =>
        Predict(rasters.Count, i => rasters[i], ct);

    private List<BinaryMask> Predict(int count, Func<int, Raster> decode, CancellationToken ct)
    {
        var results = new List<BinaryMask>(count);
        Run(count, decode, ct, (p, geometry) => results.Add(ToMask(p, geometry)));
        return results;
    }

    /// <summary>The probabilities of each image at its original size, before the threshold or argmax (what an ensemble averages
    /// and what an exported model reproduces): the same preprocessing, TTA and mode as <see cref="PredictMany"/>.</summary>
    public IReadOnlyList<ProbabilityMap> PredictProbabilities(IReadOnlyList<string> imagePaths, CancellationToken ct = default) =>
        PredictProbabilities(imagePaths.Count, i => ImageDecoder.DecodeFile(imagePaths[i]), ct);

    /// <summary><see cref="PredictProbabilities(IReadOnlyList{string}, CancellationToken)"/> of decoded images.</summary>
    public IReadOnlyList<ProbabilityMap> PredictRasterProbabilities(IReadOnlyList<Raster> rasters, CancellationToken ct = default) =>
        PredictProbabilities(rasters.Count, i => rasters[i], ct);

    private List<ProbabilityMap> PredictProbabilities(int count, Func<int, Raster> decode, CancellationToken ct)
    {
        var results = new List<ProbabilityMap>(count);
        Run(count, decode, ct, (p, geometry) =>
        {
            using var original = Training.Preprocessing.ProbabilitiesToOriginal(p, geometry);
            results.Add(new ProbabilityMap((int)original.shape[0], geometry.OriginalWidth, geometry.OriginalHeight, original.data<float>().ToArray()));
        });
        return results;
    }

    /// <summary>The mask of probabilities at the original size: threshold (run.json's) or argmax, then the largest component
    /// when <see cref="InferenceOptions.LargestComponent"/> is on; the same mask as <see cref="PredictMany"/> gives.</summary>
    public BinaryMask ToMask(ProbabilityMap probabilities) => ToMask(probabilities, Classes, Manifest.Threshold, Options.LargestComponent);

    /// <summary><see cref="ToMask(ProbabilityMap)"/> with the decision spelled out (for an ensemble's averaged probabilities).</summary>
    public static BinaryMask ToMask(ProbabilityMap probabilities, int classes, double threshold, bool largestComponent)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        var (width, height) = (probabilities.Width, probabilities.Height);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = tensor(probabilities.Values, [probabilities.Channels, height, width]);
        byte[] labels;
        if (classes == 1)
        {
            using var cut = threshold.ToScalar();
            labels = p[0].ge(cut).to(uint8).contiguous().data<byte>().ToArray();
        }
        else
        {
            labels = p.argmax(0).to(uint8).contiguous().data<byte>().ToArray();
        }
        if (largestComponent) Postprocessing.KeepLargestComponent(labels, width, height);
        return new BinaryMask(width, height, labels);
    }

    /// <summary>The model's (K, S, S) probabilities of each image (on the device) with the geometry that maps them back to the
    /// image, handed to <paramref name="each"/> inside the image's dispose scope.</summary>
    private void Run(int count, Func<int, Raster> decode, CancellationToken ct, Action<Tensor, LetterboxGeometry> each)
    {
        using var _ = inference_mode();
        if (Options.Mode == PredictionMode.SlidingWindow)
        {
            for (var index = 0; index < count; index++)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var raster = decode(index);
                var x = NativeInput(raster, (int)Manifest.ModelOptions.InChannels, Preprocessing.EffectiveNormalization).to(device);
                var p = SlidingWindow.Predict(x, Manifest.ImageSize, Probabilities, Options.BatchSize);
                each(p[0], LetterboxGeometry.Native(raster.Width, raster.Height));
            }
            return;
        }
        foreach (var chunk in Enumerable.Range(0, count).Chunk(Options.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var images = chunk.Select(i => Training.Preprocessing.Prepare(decode(i), Manifest.ImageSize, (int)Manifest.ModelOptions.InChannels, Preprocessing)).ToArray();
            var (c, s) = (images[0].Channels, images[0].Size);
            var pixels = new float[images.Length * c * s * s];
            for (var i = 0; i < images.Length; i++) images[i].Pixels.CopyTo(pixels, i * c * s * s);
            var p = Probabilities(tensor(pixels, [images.Length, c, s, s]).to(device));
            for (var i = 0; i < images.Length; i++) each(p[i], images[i].Geometry);
        }
    }

    /// <summary>The predicted mask of one image as a PNG at the image's original size: 0/255 for binary models, label indices otherwise.</summary>
    public byte[] PredictPng(string imagePath) => EncodePng(Predict(imagePath));

    /// <summary>0/255 for a binary model's 0/1 mask, the label indices unchanged for a multi-class model.</summary>
    public byte[] EncodePng(BinaryMask mask)
    {
        var pixels = Classes == 1 ? mask.Pixels.Select(p => p != 0 ? (byte)255 : (byte)0).ToArray() : mask.Pixels;
        return ImageDecoder.EncodePng(pixels, mask.Width, mask.Height, 1);
    }

    /// <summary>
    /// Predicts every case, writes <c>{outputDirectory}/{name}.png</c> (0/255, original size; label indices for a multi-class
    /// model) and scores it against the case's mask at the original resolution with <see cref="Score"/>. Cases that are slices of
    /// a volume (<see cref="TrainingCase.Volume"/>) also go into <paramref name="volumes"/> when given, to be scored whole.
    /// </summary>
    public IReadOnlyList<CasePrediction> Evaluate(IReadOnlyList<TrainingCase> cases, string outputDirectory, CancellationToken ct = default,
        VolumeScorer? volumes = null)
    {
        Directory.CreateDirectory(outputDirectory);
        var results = new List<CasePrediction>(cases.Count);
        foreach (var chunk in cases.Chunk(Options.BatchSize))
        {
            var predictions = PredictMany(chunk.Select(c => c.ImagePath).ToArray(), ct);
            for (var i = 0; i < chunk.Length; i++)
            {
                var (c, predicted) = (chunk[i], predictions[i]);
                var truth = Classes == 1 ? MaskReader.Read(c.MaskPath) : MaskReader.ReadLabels(c.MaskPath);
                if (truth.Width != predicted.Width || truth.Height != predicted.Height)
                    throw new InvalidDataException(
                        $"Case '{c.Name}': the mask is {truth.Width}×{truth.Height} but the image is {predicted.Width}×{predicted.Height}.");
                var path = Path.GetFullPath(Path.Combine(outputDirectory, c.Name + ".png"));
                if (volumes is not null && c.Volume is { } v)
                    volumes.Add(v.Id, v.Slice, predicted.Pixels, truth.Pixels, predicted.Height, predicted.Width);
                if (Classes == 1) Training.Preprocessing.WriteMaskPng(predicted.Pixels, predicted.Width, predicted.Height, path);
                else Training.Preprocessing.WriteLabelPng(predicted.Pixels, predicted.Width, predicted.Height, path);
                results.Add(Score(c.Name, path, predicted.Pixels, truth.Pixels, predicted.Height, predicted.Width, Math.Max(2, Classes),
                    c.Spacing, Options.Convention));
            }
        }
        return results;
    }

    /// <summary>
    /// Scores one predicted mask against its truth (row-major <paramref name="height"/> × <paramref name="width"/>): for each
    /// foreground class 1 … <paramref name="numClasses"/> − 1 (binary: 2, any non-zero pixel is foreground) the
    /// <see cref="CaseMetrics"/> of the one-vs-rest masks, in pixels and, with <paramref name="spacing"/>, in mm. The case's
    /// overlap metrics are the means over the classes (policy for empty masks: <see cref="SegmentationMetrics"/>), its HD95
    /// and ASSD the means over the classes where they are defined (<see cref="SurfaceDistances"/>: null when no class has
    /// them), its FP and FN the sums. The same values a <see cref="MetricAccumulator"/> with these options collects.
    /// </summary>
    public static CasePrediction Score(string name, string predictionPath, ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth,
        int height, int width, int numClasses = 2, PixelSpacing? spacing = null,
        SurfaceDistanceConvention convention = SurfaceDistanceConvention.Medpy)
    {
        if (numClasses < 2) throw new ArgumentOutOfRangeException(nameof(numClasses), $"numClasses counts background: at least 2, got {numClasses}.");
        var binary = numClasses == 2;
        var scores = new List<ClassCaseScore>(numClasses - 1);
        byte[]? p = binary ? null : new byte[predicted.Length];
        byte[]? t = binary ? null : new byte[truth.Length];
        for (var k = 1; k < numClasses; k++)
        {
            if (!binary)
            {
                for (var i = 0; i < p!.Length; i++)
                {
                    p[i] = predicted[i] == k ? (byte)1 : (byte)0;
                    t![i] = truth[i] == k ? (byte)1 : (byte)0;
                }
            }
            ReadOnlySpan<byte> pk = binary ? predicted : p, tk = binary ? truth : t;
            var pixels = CaseMetrics.Compute(pk, tk, height, width, PixelSpacing.Unit, convention: convention);
            var mm = spacing is { } s ? CaseMetrics.Compute(pk, tk, height, width, s, convention: convention) : null;
            scores.Add(ClassCaseScore.From(k, pixels, mm));
        }
        static double? MeanDefined(IEnumerable<double?> values)
        {
            var defined = values.OfType<double>().ToList();
            return defined.Count == 0 ? null : defined.Average();
        }
        return new CasePrediction(name, predictionPath, scores.Average(x => x.Dice), scores.Average(x => x.IoU),
            scores.Average(x => x.Precision), scores.Average(x => x.Recall), binary ? null : [.. scores.Select(x => x.Dice)])
        {
            Hd95 = MeanDefined(scores.Select(x => x.Hd95)),
            Assd = MeanDefined(scores.Select(x => x.Assd)),
            Hd95Mm = spacing is null ? null : MeanDefined(scores.Select(x => x.Hd95Mm)),
            AssdMm = spacing is null ? null : MeanDefined(scores.Select(x => x.AssdMm)),
            Fp = scores.Sum(x => x.Fp),
            Fn = scores.Sum(x => x.Fn),
            TruthEmpty = scores.All(x => x.TruthEmpty),
            Classes = scores,
        };
    }

    /// <summary>
    /// The image at its native resolution as the training pipeline prepares it, minus the resize: channel conversion
    /// (grey → replicated, colour → luminance 0.299/0.587/0.114), then per-channel z-score (std below 1e-6 → 1). (1, C, H, W).
    /// </summary>
    public static Tensor NativeInput(Raster raster, int channels) => NativeInput(raster, channels, IntensityNormalization.PerImageZScore);

    /// <summary><see cref="NativeInput(Raster, int)"/> with the run's normalization (run.json) instead of the per-image z-score.</summary>
    public static Tensor NativeInput(Raster raster, int channels, IntensityNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        normalization.Validate();
        var (w, h, bands) = (raster.Width, raster.Height, raster.Bands);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = tensor(raster.Pixels, [1, h, w, bands]).permute(0, 3, 1, 2);
        if (bands != channels)
        {
            if (bands == 1) x = x.expand(1, channels, h, w);
            else if (bands == 3 && channels == 1) x = Training.Preprocessing.Luma(x);
            else throw new InvalidDataException($"the image has {bands} channel(s) but the model takes {channels}.");
        }
        x = x.contiguous();
        return Training.Preprocessing.Normalize(x, normalization, channels).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>(K, S, S) probabilities → crop the letterbox padding (if any) → bilinear resize to the original size →
    /// threshold or argmax → optional largest component.</summary>
    private BinaryMask ToMask(Tensor probabilities, LetterboxGeometry geometry)
    {
        var (width, height) = (geometry.OriginalWidth, geometry.OriginalHeight);
        byte[] labels;
        if (Classes == 1)
        {
            labels = Training.Preprocessing.ToOriginalSize(probabilities[0], geometry, Manifest.Threshold);
        }
        else
        {
            labels = Training.Preprocessing.ToOriginalLabels(probabilities, geometry);
        }
        if (Options.LargestComponent) Postprocessing.KeepLargestComponent(labels, width, height);
        return new BinaryMask(width, height, labels);
    }

    private void WarmUp()
    {
        using var _ = inference_mode();
        using var scope = NewDisposeScope();
        var s = Manifest.ImageSize;
        Forward(zeros(1, Manifest.ModelOptions.InChannels, s, s, device: device));
    }

    /// <summary>Median wall time in milliseconds of one forward pass at batch 1 and the training size, through the path this
    /// predictor runs (the fast path by default), under <c>inference_mode</c>, after <paramref name="warmup"/> untimed passes;
    /// on CUDA each pass is synchronised so the time is the kernels', not the launch's.</summary>
    public double MeasureLatency(int warmup = 3, int iterations = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        using var _ = inference_mode();
        var s = Manifest.ImageSize;
        using var input = zeros(1, Manifest.ModelOptions.InChannels, s, s, device: device);
        var cuda = device.type == DeviceType.CUDA;
        void Pass()
        {
            using var scope = NewDisposeScope();
            Forward(input);
            if (cuda) torch.cuda.synchronize();
        }
        for (var i = 0; i < warmup; i++) Pass();
        var times = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            Pass();
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return iterations % 2 == 1 ? times[iterations / 2] : (times[iterations / 2 - 1] + times[iterations / 2]) / 2;
    }

    public void Dispose()
    {
        fastPath?.Dispose();
        model.Dispose();
    }
}
