using System.Globalization;
using MedSeg.Engine.Isolation;

namespace MedSeg.Engine.Training;

/// <summary>Measured memory of one model's training step: peak resident bytes = <see cref="FixedBytes"/> (runtime, libtorch,
/// weights, gradients, AdamW state) + <see cref="BytesPerPixel"/> × B·S² + <see cref="BytesPerPixelSquared"/> × B·S⁴
/// (attention over tokens grows with the square of the pixel count).</summary>
public sealed record MemoryCoefficients(double FixedBytes, double BytesPerPixel, double BytesPerPixelSquared);

/// <summary>What decides a training run's memory: the model, its batch and size, and the data the trainer holds.</summary>
public sealed record RunShape(string Model, string? Variant, int BatchSize, int ImageSize, int Channels, int TrainCases, int ValidationCases,
    long LargestImagePixels)
{
    public int LoaderWorkers { get; init; } = 2;
    public int LoaderPrefetch { get; init; } = 3;
    /// <summary>The model's output channels (1 binary, K for a label map): the table is measured with one.</summary>
    public int Classes { get; init; } = 1;
    /// <summary>Deep supervision's heads and their gradients (measured as UNet++'s legacy variant "deepsup").</summary>
    public bool DeepSupervision { get; init; }

    public static RunShape Of(TrainingPlan plan, long largestImagePixels) =>
        new(plan.Model, plan.ModelOptions.Variant, plan.BatchSize, plan.ImageSize, plan.ModelOptions.InChannels, plan.Train.Count,
            plan.Validation.Count, largestImagePixels)
        {
            LoaderWorkers = plan.LoaderWorkers,
            LoaderPrefetch = plan.LoaderPrefetch,
            Classes = plan.ModelOptions.Classes,
            DeepSupervision = plan.ModelOptions.DeepSupervision,
        };
}

/// <summary>
/// Admission: a training run's peak memory, estimated before it starts, from a table measured once per model and
/// variant, plus the data the trainer keeps (the decoded case cache, the loader's prefetched batches, decode buffers at
/// the original size), times a safety margin. The same check runs in the web's launch (API and form) and in
/// <c>medseg train</c>; the supervisor's memory ceiling stays the backstop for what an estimate misses.
/// </summary>
public static class MemoryEstimate
{
    /// <summary>Estimates are multiplied by this: the table is a fit, and the allocator's caching varies.</summary>
    public const double Safety = 1.25;

    /// <summary>
    /// Measured with <c>medseg bench-memory --all-variants --batch 2</c> (sizes 128, 256, 384; peak resident memory, VmHWM,
    /// of two AdamW steps of bce+dice on channels-last batches, a fresh process per point; libtorch CPU 2.10, 2 threads,
    /// this project's 2-core Debian 12 machine). Keys: model, or model:variant; the bare name is the default variant.
    /// Every model grows linearly in pixels at these sizes (the line through 256 and 384). SegFormer's attention term
    /// (B·S⁴) is below the noise there but dominates at large sizes, so it is computed from the architecture instead:
    /// 8 bytes (scores and softmax) per attention entry, Σ depthᵢ·headsᵢ·Nᵢ²/Rᵢ² over the four stages (Nᵢ tokens, Rᵢ the
    /// reduction ratio), which is S⁴·1.89e-3 for B0/B1 and S⁴·3.54e-3 for B2 per sample.
    /// </summary>
    private static readonly Dictionary<string, MemoryCoefficients> Table = new(StringComparer.OrdinalIgnoreCase)
    {
        ["unext"] = new(234980147, 941.775, 0e0), // peaks 242 MiB / 342 MiB / 489 MiB
        ["unet:transposed"] = new(792736563, 6391.4, 0e0), // peaks 1131 MiB / 1555 MiB / 2554 MiB
        ["unet"] = new(792736563, 6391.4, 0e0), // = unet:transposed
        ["unet:bilinear"] = new(468127744, 6382.625, 0e0), // peaks 753 MiB / 1244 MiB / 2242 MiB
        ["unet:small"] = new(245949235, 1731.15, 0e0), // peaks 277 MiB / 451 MiB / 721 MiB
        ["unetplusplus:base32"] = new(536220467, 9207.525, 0e0), // peaks 724 MiB / 1662 MiB / 3101 MiB
        ["unetplusplus"] = new(536220467, 9207.525, 0e0), // = unetplusplus:base32
        ["unetplusplus:deepsup"] = new(576039322, 8855.2, 0e0), // peaks 729 MiB / 1656 MiB / 3040 MiB
        ["unetplusplus:small"] = new(307075482, 5100.7, 0e0), // peaks 409 MiB / 930 MiB / 1727 MiB
        ["segformer:b0"] = new(253289267, 2181.525, 1.89e-3), // peaks 326 MiB / 514 MiB / 855 MiB
        ["segformer"] = new(253289267, 2181.525, 1.89e-3), // = segformer:b0
        ["segformer:b1"] = new(468835533, 2935.35, 1.89e-3), // peaks 568 MiB / 814 MiB / 1273 MiB
        ["segformer:b2"] = new(1112861082, 3795.2, 3.54e-3), // peaks 948 MiB / 1536 MiB / 2129 MiB
        ["pspnet:resnet50"] = new(1208332288, 5980.75, 0e0), // peaks 1435 MiB / 1900 MiB / 2834 MiB
        ["pspnet"] = new(1208332288, 5980.75, 0e0), // = pspnet:resnet50
        ["pspnet:resnet34"] = new(772481843, 2263.525, 0e0), // peaks 939 MiB / 1020 MiB / 1373 MiB
        ["pspnet:resnet18"] = new(510531174, 1816.05, 0e0), // peaks 660 MiB / 714 MiB / 998 MiB
        ["hrnet:w18_small_v1"] = new(229063885, 1097.35, 0e0), // peaks 249 MiB / 356 MiB / 527 MiB
        ["hrnet"] = new(229063885, 1097.35, 0e0), // = hrnet:w18_small_v1
        ["hrnet:w18_small_v2"] = new(258213478, 2001.05, 0e0), // peaks 316 MiB / 496 MiB / 809 MiB
        ["hrnet:w18"] = new(299652710, 3531.05, 0e0), // peaks 477 MiB / 727 MiB / 1279 MiB
        ["deeplabv3plus:resnet50"] = new(1039994061, 3380.6, 0e0), // peaks 1351 MiB / 1414 MiB / 1943 MiB
        ["deeplabv3plus"] = new(1039994061, 3380.6, 0e0), // = deeplabv3plus:resnet50
        ["deeplabv3plus:resnet101"] = new(1500789146, 3661.7, 0e0), // peaks 1800 MiB / 1889 MiB / 2461 MiB
        ["deeplabv3plus:mobilenetv2"] = new(310611149, 2906.475, 0e0), // peaks 384 MiB / 660 MiB / 1114 MiB
    };

    /// <summary>Models missing from the table (a new architecture) are estimated as the most demanding entry.</summary>
    private static MemoryCoefficients Coefficients(string model, string? variant)
    {
        if (variant is not null && Table.TryGetValue($"{model}:{variant}", out var v)) return v;
        if (Table.TryGetValue(model, out var m)) return m;
        return Table.Values.MaxBy(c => c.BytesPerPixel)!;
    }

    /// <summary>True when the table has a measured row for this model (and variant; null = the default variant).</summary>
    public static bool IsMeasured(string model, string? variant) =>
        variant is null ? Table.ContainsKey(model) : Table.ContainsKey($"{model}:{variant}");

    /// <summary>The estimated peak resident bytes of a training run of this shape.</summary>
    public static long Bytes(RunShape shape)
    {
        var c = Coefficients(shape.Model, shape.DeepSupervision && shape.Variant is null or "base32" && IsMeasured(shape.Model, "deepsup") ? "deepsup" : shape.Variant);
        double pixels = (double)shape.ImageSize * shape.ImageSize;
        var step = c.FixedBytes + c.BytesPerPixel * shape.BatchSize * pixels + c.BytesPerPixelSquared * shape.BatchSize * pixels * pixels;
        // A K-class head's extra channels beyond the measured one: logits, softmax, one-hot target, their gradients and the
        // validation copies, about 8 float tensors of (N, K, S, S).
        step += 8.0 * 4 * Math.Max(0, shape.Classes - 1) * shape.BatchSize * pixels;
        // The trainer's data, as Trainer and CaseSources hold it: validation cases always cached, training cases cached
        // within the budget, else streamed with (prefetch + workers) batches in flight.
        var validation = CaseStore.Bytes(shape.ValidationCases, shape.ImageSize, shape.Channels);
        var budgetLeft = Trainer.MemoryBudgetBytes - validation;
        var trainCache = CaseStore.Bytes(shape.TrainCases, shape.ImageSize, shape.Channels);
        double data = validation + (trainCache <= budgetLeft
            ? trainCache
            : (double)(shape.LoaderPrefetch + shape.LoaderWorkers) * shape.BatchSize * pixels * (4.0 * shape.Channels + 4));
        // Decoding: every decoder holds an image at its original size as bytes and as floats, with a resize buffer.
        var decoders = Math.Max(shape.LoaderWorkers, Environment.ProcessorCount);
        var decode = (double)decoders * shape.LargestImagePixels * (4.0 * shape.Channels + shape.Channels) * 2;
        return (long)((step + data + decode) * Safety);
    }

    /// <summary>Null when the run fits <paramref name="ceilingBytes"/>; otherwise the reason with the largest batch size (at
    /// this size) and the largest image size (a multiple of <paramref name="sizeMultiple"/>, at this batch) that fit.</summary>
    public static string? Check(RunShape shape, long ceilingBytes, int sizeMultiple)
    {
        var need = Bytes(shape);
        if (need <= ceilingBytes) return null;
        var batch = Enumerable.Range(1, Math.Max(0, shape.BatchSize - 1)).Reverse()
            .FirstOrDefault(b => Bytes(shape with { BatchSize = b }) <= ceilingBytes);
        var step = Math.Max(1, sizeMultiple);
        var size = 0;
        for (var s = (shape.ImageSize - 1) / step * step; s >= step; s -= step)
        {
            if (Bytes(shape with { ImageSize = s }) <= ceilingBytes)
            {
                size = s;
                break;
            }
        }
        var model = shape.Variant is null ? shape.Model : $"{shape.Model} ({shape.Variant})";
        var fits = (batch, size) switch
        {
            ( > 0, > 0) => $"Batch size {batch} fits at {shape.ImageSize}×{shape.ImageSize}; at batch size {shape.BatchSize}, image size {size} fits.",
            ( > 0, _) => $"Batch size {batch} fits at {shape.ImageSize}×{shape.ImageSize}.",
            (_, > 0) => $"No batch size fits at {shape.ImageSize}×{shape.ImageSize}; at batch size {shape.BatchSize}, image size {size} fits.",
            _ => "No batch or image size of this model fits; choose a smaller model or variant.",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"{model} at {shape.ImageSize}×{shape.ImageSize} with batch size {shape.BatchSize} needs about {ChildSupervisor.Gib(need)} of memory " +
            $"(estimated), more than the {ChildSupervisor.Gib(ceilingBytes)} one run may use here. {fits}");
    }
}
