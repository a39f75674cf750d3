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

    public static RunShape Of(TrainingPlan plan, long largestImagePixels) =>
        new(plan.Model, plan.ModelOptions.Variant, plan.BatchSize, plan.ImageSize, plan.ModelOptions.InChannels, plan.Train.Count,
            plan.Validation.Count, largestImagePixels)
        {
            LoaderWorkers = plan.LoaderWorkers,
            LoaderPrefetch = plan.LoaderPrefetch,
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
    /// </summary>
    private static readonly Dictionary<string, MemoryCoefficients> Table = new(StringComparer.OrdinalIgnoreCase)
    {
        ["unext"] = new(235957043, 386.729, 1.158e-2),
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
        var c = Coefficients(shape.Model, shape.Variant);
        double pixels = (double)shape.ImageSize * shape.ImageSize;
        var step = c.FixedBytes + c.BytesPerPixel * shape.BatchSize * pixels + c.BytesPerPixelSquared * shape.BatchSize * pixels * pixels;
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
