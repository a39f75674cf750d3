using System.Diagnostics;
using System.Globalization;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Losses;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg bench-loader</c>: throughput of the <see cref="BatchLoader"/> (decode + resize + normalize +
/// augment, in images/s) against what a model consumes in a training step (forward + backward + AdamW on the loader's
/// batches), and their ratio. Both are measured in the same process, one after the other, on the CPU.</summary>
public sealed class LoaderBenchCommand : ICommand
{
    public string Name => "bench-loader";

    public string Summary => "Measure data-loader throughput against a model's training-step consumption";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("data", "Dataset folder with images/ and masks/ (same file names)", ValueName: "DIR"),
        new("size", "Square input size in pixels", "256"),
        new("batch", "Batch size", "8"),
        new("augment", "Augmentation preset: none, flips, light, strong", "strong", ValueName: "NAME"),
        new("workers", "Loader worker threads", "2"),
        new("prefetch", "Batches materialized at most (held + prepared ahead)", "3"),
        new("batches", "Batches to time", "50"),
        new("resize", "Resize policy: stretch or letterbox", "stretch", ValueName: "POLICY"),
        new("cache", "Decode every case into memory first (CaseStore), then time the loader on the cache", IsFlag: true),
        new("limit", "Use only the first N cases (ordinal file order)", ValueName: "N"),
        new("model", "Model whose training step is timed", "unext", ValueName: "NAME"),
        new("steps", "Training steps to time (after one warm-up step)", "5"),
        new("threads", "Torch intra-op threads (default: libtorch's)", ValueName: "N"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var data = options.Get("data") ?? throw new UsageException("--data is required.");
        var size = options.GetInt("size", 256, min: 32, max: 4096);
        var batch = options.GetInt("batch", 8, max: 1024);
        var workers = options.GetInt("workers", 2, max: 64);
        var prefetch = options.GetInt("prefetch", 3, max: 64);
        var batches = options.GetInt("batches", 50, max: 100_000);
        var steps = options.GetInt("steps", 5, max: 1000);
        AugmentationOptions augmentation;
        try { augmentation = TrainCommand.ReadAugmentation(options.Get("augment") ?? "strong"); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var resize = (options.Get("resize") ?? "stretch").ToLowerInvariant() switch
        {
            "stretch" => ResizePolicy.Stretch,
            "letterbox" => ResizePolicy.Letterbox,
            var other => throw new UsageException($"--resize takes stretch or letterbox; got '{other}'."),
        };
        var model = options.Get("model") ?? "unext";
        if (!ModelRegistry.Contains(model)) throw new UsageException($"unknown model '{model}'. Models: {string.Join(", ", ModelRegistry.Names)}.");
        if (options.Get("threads") is not null) set_num_threads(options.GetInt("threads", 1, max: 256));

        var cases = Pairs(data);
        if (options.Get("limit") is not null) cases = cases.Take(options.GetInt("limit", int.MaxValue)).ToList();
        if (cases.Count == 0)
        {
            error.WriteLine($"no image/mask pairs found under {data} (expected images/X.* and masks/X.*).");
            return ExitCodes.Failure;
        }
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"{cases.Count} cases from {data}; {size}×{size}, batch {batch}, augment {augmentation.Name}, resize {resize}, " +
                         $"workers {workers}, prefetch {prefetch}; {Environment.ProcessorCount} CPUs, torch threads {get_num_threads()}.");

        var preprocessing = new PreprocessingOptions(resize);
        ICaseSource source;
        if (options.Has("cache"))
        {
            var clock = Stopwatch.StartNew();
            source = CaseSources.Open(cases, size, 3, preprocessing, long.MaxValue);
            output.WriteLine(string.Format(inv, "cache: decoded {0} cases in {1:F1} s ({2:F1} images/s)", cases.Count,
                clock.Elapsed.TotalSeconds, cases.Count / clock.Elapsed.TotalSeconds));
        }
        else
        {
            source = new DiskCaseSource(cases, size, 3, preprocessing);
        }

        if (options.Has("cache")) AugmentationCost(source, output);

        // Loader: as many epochs as needed for the requested number of batches.
        var kept = new List<LoadedBatch>();
        var images = 0;
        var timed = 0;
        var loaderClock = Stopwatch.StartNew();
        using (var loader = new BatchLoader(source, new BatchLoaderOptions
               { BatchSize = batch, Workers = workers, Prefetch = prefetch, Augmentation = augmentation, Seed = 1 }))
        {
            for (var epoch = 1; timed < batches; epoch++)
            {
                foreach (var b in loader.Epoch(epoch, PipelineRandom.EpochOrder(1, epoch, source.Count)))
                {
                    images += b.Count;
                    if (kept.Count < 2) kept.Add(b);
                    if (++timed == batches) break;
                }
            }
            output.WriteLine($"loader: at most {loader.MaxLiveBatches} batches materialized.");
        }
        var loaderSeconds = loaderClock.Elapsed.TotalSeconds;
        var loaderRate = images / loaderSeconds;
        output.WriteLine(string.Format(inv, "loader: {0} batches ({1} images) in {2:F2} s = {3:F1} images/s", timed, images, loaderSeconds, loaderRate));

        // Consumption: forward + backward + AdamW step on the loader's batches.
        manual_seed(1);
        using var net = ModelRegistry.Create(model, new ModelOptions(3, 1));
        net.CheckInputSize(size, size);
        net.train();
        using var optimizer = optim.AdamW(net.parameters(), lr: 1e-3, weight_decay: Trainer.WeightDecay);
        using var criterion = new BceDiceLoss();
        var stepSeconds = new List<double>();
        for (var s = 0; s <= steps; s++)
        {
            var b = kept[s % kept.Count];
            var clock = Stopwatch.StartNew();
            using (NewDisposeScope())
            {
                var (x, y) = b.ToTensors(CPU);
                var loss = criterion.call(net.call(x), y);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                _ = loss.item<float>();
            }
            if (s > 0) stepSeconds.Add(clock.Elapsed.TotalSeconds);
        }
        var step = stepSeconds.Average();
        var consumption = kept[0].Count / step;
        output.WriteLine(string.Format(inv, "model: {0} training step at batch {1}, {2}² = {3:F3} s (mean of {4}) = {5:F1} images/s",
            model, kept[0].Count, size, step, stepSeconds.Count, consumption));
        output.WriteLine(string.Format(inv, "ratio loader/consumption = {0:F2}× (target ≥ 3×)", loaderRate / consumption));
        return ExitCodes.Success;
    }

    /// <summary>Milliseconds per image of each preset on one thread (read from the cache + augment), over up to 32 cases.</summary>
    private static void AugmentationCost(ICaseSource source, TextWriter output)
    {
        var (c, s) = (source.Channels, source.Size);
        var (image, mask) = (new float[c * s * s], new byte[s * s]);
        var (outImage, outMask) = (new float[c * s * s], new float[s * s]);
        var n = Math.Min(32, source.Count);
        var parts = new List<string>();
        foreach (var name in AugmentationOptions.PresetNames)
        {
            var augmenter = new Augmenter(AugmentationOptions.Parse(name));
            var clock = Stopwatch.StartNew();
            for (var epoch = 0; epoch < 3; epoch++)
            for (var i = 0; i < n; i++)
            {
                source.Read(i, image, mask);
                augmenter.Apply(image, mask, c, s, PipelineRandom.For(1, epoch, i), outImage, outMask);
            }
            parts.Add(string.Format(CultureInfo.InvariantCulture, "{0} {1:F2}", name, clock.Elapsed.TotalMilliseconds / (3 * n)));
        }
        output.WriteLine($"augmentation, ms per image on one thread (cache read + augment): {string.Join(", ", parts)}");
    }

    /// <summary>images/X.* paired with masks/X.* by file name without extension (no decoding: the loader decodes).</summary>
    private static List<TrainingCase> Pairs(string root)
    {
        var images = Path.Combine(root, "images");
        var masks = Path.Combine(root, "masks");
        if (!Directory.Exists(images) || !Directory.Exists(masks)) return [];
        var maskByStem = Directory.EnumerateFiles(masks)
            .Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f)))
            .GroupBy(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return Directory.EnumerateFiles(images)
            .Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f)))
            .Order(StringComparer.Ordinal)
            .Select(f => (Image: f, Stem: Path.GetFileNameWithoutExtension(f)))
            .Where(p => maskByStem.ContainsKey(p.Stem))
            .Select(p => new TrainingCase(p.Stem, p.Image, maskByStem[p.Stem]))
            .ToList();
    }
}
