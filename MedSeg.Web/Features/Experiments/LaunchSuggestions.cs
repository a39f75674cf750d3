using System.Globalization;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Shared;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// One proposed launch option with the reason it follows from the dataset ("median size 512×480 → 384"). <see cref="Field"/>
/// is the <see cref="LaunchRequest"/> property it sets; <see cref="Apply"/> sets it.
/// </summary>
public sealed record LaunchSuggestion(string Field, string Label, string Value, string Reason)
{
    public int? Number { get; init; }
    /// <summary>A real-valued option (learning rate, weight decay).</summary>
    public double? Real { get; init; }
    public string? Name { get; init; }
    /// <summary>With <see cref="Field"/> Normalization and <see cref="Name"/> ct: the fixed CT window.</summary>
    public double? WindowLow { get; init; }
    public double? WindowHigh { get; init; }

    public void Apply(LaunchRequest request)
    {
        switch (Field)
        {
            case nameof(LaunchRequest.ImageSize): request.ImageSize = Number!.Value; break;
            case nameof(LaunchRequest.BatchSize): request.BatchSize = Number!.Value; break;
            case nameof(LaunchRequest.Epochs): request.Epochs = Number!.Value; break;
            case nameof(LaunchRequest.WarmupEpochs): request.WarmupEpochs = Number!.Value; break;
            case nameof(LaunchRequest.LearningRate): request.LearningRate = Real!.Value; break;
            case nameof(LaunchRequest.WeightDecay): request.WeightDecay = Real!.Value; break;
            case nameof(LaunchRequest.Augmentation): request.Augmentation = Name; break;
            case nameof(LaunchRequest.Resize): request.Resize = Name; break;
            case nameof(LaunchRequest.Normalization):
                request.Normalization = Name;
                request.WindowLow = WindowLow;
                request.WindowHigh = WindowHigh;
                break;
        }
    }

    /// <summary>What the request holds in this suggestion's field, written as <see cref="Value"/> is.</summary>
    public string CurrentValue(LaunchRequest request) => Field switch
    {
        nameof(LaunchRequest.ImageSize) => $"{request.ImageSize} px",
        nameof(LaunchRequest.BatchSize) => request.BatchSize.ToString(CultureInfo.InvariantCulture),
        nameof(LaunchRequest.Epochs) => request.Epochs.ToString(CultureInfo.InvariantCulture),
        nameof(LaunchRequest.WarmupEpochs) => request.WarmupEpochs.ToString(CultureInfo.InvariantCulture),
        nameof(LaunchRequest.LearningRate) => request.LearningRate.ToString("G4", CultureInfo.InvariantCulture),
        nameof(LaunchRequest.WeightDecay) => request.WeightDecay.ToString("G4", CultureInfo.InvariantCulture),
        nameof(LaunchRequest.Augmentation) => request.Augmentation ?? "",
        nameof(LaunchRequest.Resize) => request.Resize ?? "",
        nameof(LaunchRequest.Normalization) => request.WindowLow is { } low && request.WindowHigh is { } high
            ? $"{request.Normalization} {LaunchSuggestions.Window(low, high)}" : request.Normalization ?? "",
        _ => "",
    };

    /// <summary>True when the request already holds this suggestion.</summary>
    public bool IsAppliedTo(LaunchRequest request) => Field switch
    {
        nameof(LaunchRequest.ImageSize) => request.ImageSize == Number,
        nameof(LaunchRequest.BatchSize) => request.BatchSize == Number,
        nameof(LaunchRequest.Epochs) => request.Epochs == Number,
        nameof(LaunchRequest.WarmupEpochs) => request.WarmupEpochs == Number,
        nameof(LaunchRequest.LearningRate) => request.LearningRate == Real,
        nameof(LaunchRequest.WeightDecay) => request.WeightDecay == Real,
        nameof(LaunchRequest.Augmentation) => string.Equals(request.Augmentation, Name, StringComparison.OrdinalIgnoreCase),
        nameof(LaunchRequest.Resize) => string.Equals(request.Resize, Name, StringComparison.OrdinalIgnoreCase),
        nameof(LaunchRequest.Normalization) => string.Equals(request.Normalization, Name, StringComparison.OrdinalIgnoreCase)
            && request.WindowLow == WindowLow && request.WindowHigh == WindowHigh,
        _ => false,
    };
}

/// <summary>
/// The one place the launch form's suggestions are made from a dataset's fingerprint (<see cref="VersionFingerprint"/>):
/// <list type="bullet">
/// <item>input size: <see cref="DatasetFingerprint.SuggestSize"/> of the median width and height (the engine's rule), capped
/// at the form's maximum and rounded to the model's size multiple;</item>
/// <item>batch size: the largest up to <see cref="MaxBatch"/> (and the training cases) whose <see cref="MemoryEstimate"/> at
/// that size fits the server's memory ceiling, the same admission the launch checks;</item>
/// <item>normalization: one 16-bit channel with values below <see cref="HounsfieldAir"/> (CT in Hounsfield units) → a fixed
/// CT window (soft tissue); one 16-bit channel otherwise (MRI-like) → per-image z-score (nnU-Net's rule for non-CT); 8-bit or colour → per-image z-score;</item>
/// <item>resize: letterbox when the aspect ratios spread by more than <see cref="DatasetFingerprint.LetterboxAspect"/>
/// (max / min) or the median is beyond it, else stretch;</item>
/// <item>epochs: about <see cref="TargetSteps"/> optimizer steps, within [<see cref="MinEpochs"/>, <see cref="MaxEpochs"/>];</item>
/// <item>the from-scratch recipe measured on Kvasir-SEG (docs/benchmarks.md, "Defaults without tuning"): AdamW with weight decay
/// <see cref="RecipeWeightDecay"/>, <see cref="RecipeWarmup"/> warm-up epochs into the cosine schedule, strong augmentation,
/// and the model's learning rate (<see cref="RecipeLearningRate"/>).</item>
/// </list>
/// The image size is capped by the device the runs train on (<see cref="MaxSizeFor"/>): on the CPU at
/// <see cref="CpuMaxSize"/>, where training cost grows with S² and the recipe's accuracy was reached.
/// </summary>
public static class LaunchSuggestions
{
    /// <summary>Larger batches buy no speed on a CPU and halve the optimizer steps of a small dataset.</summary>
    public const int MaxBatch = 8;
    public const int TargetSteps = 12000;
    public const int MinEpochs = 20;
    /// <summary>nnU-Net's fixed 1000 epochs, and the launch form's limit: a small dataset needs many epochs to reach the
    /// step budget (BUSI's 70 training cases: 9 steps an epoch; 300 epochs reached 0.594, 1000 reached 0.61 by epoch 312,
    /// docs/benchmarks.md "Defaults without tuning").</summary>
    public const int MaxEpochs = 1000;
    public const int CpuMaxSize = 128;
    public const int GpuMaxSize = 512;
    public const double RecipeWeightDecay = 0.05;
    public const int RecipeWarmup = 2;
    public const string RecipeAugmentation = "strong";

    /// <summary>The suggested size cap for runs on <paramref name="device"/> (a <c>MedSeg:Training:Device</c> value, or "cuda"
    /// once resolved): 128 on the CPU, 512 on a GPU.</summary>
    public static int MaxSizeFor(string? device)
    {
        var d = (device ?? "auto").Trim().ToLowerInvariant();
        return d.StartsWith("cuda", StringComparison.Ordinal) || d is "" or "auto" && CudaPresent.Value ? GpuMaxSize : CpuMaxSize;
    }

    private static readonly Lazy<bool> CudaPresent = new(() => TorchSharp.torch.cuda.is_available());

    /// <summary>The training cases of the default 80/20 split of <paramref name="cases"/> (at least one each side).</summary>
    public static int TrainCases(int cases) =>
        Math.Max(1, cases - Math.Clamp((int)Math.Round(cases * DatasetSplit.DefaultValidationFraction), 1, Math.Max(1, cases - 1)));

    /// <summary>AdamW's learning rate from scratch: 2e-3 for UNeXt (measured, with the warm-up), 1e-3 for the others.</summary>
    public static double RecipeLearningRate(string model) => string.Equals(model, "unext", StringComparison.OrdinalIgnoreCase) ? 2e-3 : 1e-3;
    /// <summary>Stored values below this in a one-channel 16-bit dataset are taken for Hounsfield units (air is −1000).</summary>
    public const double HounsfieldAir = -200;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <param name="memoryCeilingBytes">What one run may use on this server (<c>JobsOptions.EffectiveMemoryCeilingBytes</c>).</param>
    public static IReadOnlyList<LaunchSuggestion> For(VersionFingerprint f, string model, int sizeMultiple, long memoryCeilingBytes,
        int maxSize = CpuMaxSize)
    {
        var multiple = Math.Max(1, sizeMultiple);
        var (mw, mh) = ((int)f.Width.Median, (int)f.Height.Median);
        var natural = DatasetFingerprint.SuggestSize(mw, mh, int.MaxValue / 4);
        var size = DatasetFingerprint.SuggestSize(mw, mh, Math.Max(32, maxSize));
        size = Math.Max(multiple, (int)Math.Round(size / (double)multiple) * multiple);
        var sizeReason = $"median size {mw}×{mh} → {size}" + (natural > size ? $" (capped at {maxSize} for {(maxSize <= CpuMaxSize ? "CPU" : "GPU")} training; {natural} would suit the images{(maxSize <= CpuMaxSize ? " on a GPU" : "")})" : "");

        var train = TrainCases(f.Cases);
        var validation = Math.Max(1, f.Cases - train);
        var largest = (long)f.Width.Max * (long)f.Height.Max;
        RunShape Shape(int b) => new(model, null, b, size, 3, train, validation, largest);
        var limit = Math.Max(1, Math.Min(MaxBatch, train));
        var batch = Enumerable.Range(1, limit).Reverse().FirstOrDefault(b => MemoryEstimate.Bytes(Shape(b)) <= memoryCeilingBytes);
        string batchReason;
        if (batch == 0)
        {
            batch = 1;
            batchReason = MemoryEstimate.Check(Shape(1), memoryCeilingBytes, multiple) ?? "batch 1";
        }
        else
        {
            var need = MemoryEstimate.Bytes(Shape(batch));
            batchReason = $"{model} at {size} px with batch {batch} needs about {Format.Bytes(need)} (estimated), within the " +
                          $"{Format.Bytes(memoryCeilingBytes)} one run may use here" +
                          (batch == limit ? $" (at most {limit}{(limit < MaxBatch ? $": {train} training cases" : "")})" : $"; batch {batch + 1} would not fit");
        }

        var steps = (int)Math.Ceiling(train / (double)batch);
        var epochs = Math.Clamp((int)Math.Round(TargetSteps / (double)steps), MinEpochs, MaxEpochs);
        var epochsReason = $"{train} training cases at batch {batch} → {steps} step{(steps == 1 ? "" : "s")} an epoch; {epochs} epochs ≈ {epochs * steps} steps" +
                           (epochs * steps < TargetSteps * 0.9 || epochs * steps > TargetSteps * 1.1 ? $" (kept within {MinEpochs}–{MaxEpochs})" : "");

        var (lowAspect, highAspect) = (f.AspectRatio.Min, f.AspectRatio.Max);
        var spread = highAspect / Math.Max(1e-9, lowAspect);
        var median = Math.Max(f.AspectRatio.Median, 1 / Math.Max(1e-9, f.AspectRatio.Median));
        var letterbox = spread > DatasetFingerprint.LetterboxAspect || median > DatasetFingerprint.LetterboxAspect;
        var aspects = $"aspect ratios (W/H) {lowAspect.ToString("0.00", Inv)}–{highAspect.ToString("0.00", Inv)}";
        var resizeReason = letterbox
            ? $"{aspects} {(spread > DatasetFingerprint.LetterboxAspect ? "vary" : "are far from square")} → letterbox (keeps shapes, pads to the square)"
            : $"{aspects} close to each other and to square → stretch";

        var normalization = Normalization(f);
        return
        [
            new(nameof(LaunchRequest.ImageSize), "Image size", $"{size} px", sizeReason) { Number = size },
            new(nameof(LaunchRequest.BatchSize), "Batch size", batch.ToString(Inv), batchReason) { Number = batch },
            normalization,
            new(nameof(LaunchRequest.Resize), "Resize", letterbox ? "letterbox" : "stretch", resizeReason) { Name = letterbox ? "letterbox" : "stretch" },
            new(nameof(LaunchRequest.Epochs), "Epochs", epochs.ToString(Inv), epochsReason) { Number = epochs },
            .. Recipe(model, train),
        ];
    }

    /// <summary>The from-scratch training recipe for <paramref name="model"/> on <paramref name="train"/> training cases (needs
    /// no fingerprint): learning rate, weight decay, augmentation and warm-up, each with its reason.</summary>
    public static IReadOnlyList<LaunchSuggestion> Recipe(string model, int train)
    {
        var lr = RecipeLearningRate(model);
        return
        [
            new(nameof(LaunchRequest.LearningRate), "Learning rate", lr.ToString("0.####", Inv),
                $"AdamW from scratch: {lr.ToString("0.####", Inv)} for {model}" + (lr > 1e-3 ? " (small model; measured with the warm-up below)" : "")) { Real = lr },
            new(nameof(LaunchRequest.WeightDecay), "Weight decay", RecipeWeightDecay.ToString("0.##", Inv),
                $"{train} training cases from scratch overfit with AdamW's lightest decay (Kvasir-SEG: 0.77 with 1e-4, 0.79 with 0.05)") { Real = RecipeWeightDecay },
            new(nameof(LaunchRequest.Augmentation), "Augmentation", RecipeAugmentation,
                $"{train} training cases: strong (nnU-Net-like) augmentation is what lifts the plateau (flips alone: 0.69 on Kvasir-SEG)") { Name = RecipeAugmentation },
            new(nameof(LaunchRequest.WarmupEpochs), "Warm-up", $"{RecipeWarmup} epochs",
                $"{RecipeWarmup} linear warm-up epochs into the cosine schedule steady AdamW at {lr.ToString("0.####", Inv)}") { Number = RecipeWarmup },
        ];
    }

    /// <summary>The launch request the form submits when nothing is changed: the dataset and model, every suggestion applied,
    /// and the dataset's default loss (the one vocabulary's defaults for the rest).</summary>
    public static LaunchRequest SuggestedRequest(Guid datasetId, string model, int classes, IEnumerable<LaunchSuggestion> suggestions)
    {
        var request = new LaunchRequest { DatasetId = datasetId, Model = model, Loss = TrainingPlan.DefaultLoss(classes) };
        foreach (var s in suggestions) s.Apply(request);
        return request;
    }

    private static LaunchSuggestion Normalization(VersionFingerprint f)
    {
        const string field = nameof(LaunchRequest.Normalization), label = "Intensity normalization";
        var all = f.Intensity.Count > 0 ? f.Intensity[0].All : null;
        string Range(IntensityStats s) => $"{s.Min.ToString("0.#", Inv)}…{s.Max.ToString("0.#", Inv)}";
        if (f.Channels == 1 && f.SixteenBitOrMore && all is not null && all.Min < HounsfieldAir)
        {
            var w = LaunchOptions.CtWindowPresets[0];
            return new(field, label, $"ct, {w.Name} window {Window(w.Low, w.High)}",
                $"one 16-bit channel from {Range(all)} (CT range, Hounsfield units) → window {Window(w.Low, w.High)} ({w.Name}; " +
                "choose another preset for lung, bone or brain)") { Name = "ct", WindowLow = w.Low, WindowHigh = w.High };
        }
        if (f.Channels == 1 && f.SixteenBitOrMore && all is not null)
        {
            // MRI has no fixed intensity scale: one scanner's or volume's values may be a thousand times another's (a dataset
            // z-score would squash most volumes to a constant), so each image is normalized on its own, as nnU-Net does for
            // every modality but CT.
            return new(field, label, "per-image", $"one 16-bit channel from {Range(all)} (MRI-like, no fixed scale) → per-image z-score " +
                "(each volume's slices on their own scale, as nnU-Net normalizes non-CT images)") { Name = "per-image" };
        }
        var kind = f.SixteenBitOrMore ? "16-bit" : "8-bit";
        return new(field, label, "per-image", $"{kind} {(f.Channels == 1 ? "grey" : $"{f.Channels}-channel colour")} images → per-image z-score")
            { Name = "per-image" };
    }

    /// <summary>"−160…240" with true minus signs.</summary>
    public static string Window(double low, double high) =>
        $"{low.ToString("0.##", Inv).Replace('-', '−')}…{high.ToString("0.##", Inv).Replace('-', '−')}";
}
