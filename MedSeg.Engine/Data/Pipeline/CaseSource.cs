using MedSeg.Engine.Training;

namespace MedSeg.Engine.Data.Pipeline;

/// <summary>Prepared cases (resized and normalized, <see cref="PreprocessingOptions"/>) by index. Implementations are
/// thread-safe: <see cref="BatchLoader"/> workers call <see cref="Read"/> concurrently.</summary>
public interface ICaseSource
{
    int Count { get; }
    int Channels { get; }
    int Size { get; }
    /// <summary>Copies case <paramref name="index"/>'s (C, S, S) image and (S, S) mask (labels: 0/1, or 0 … K − 1) into the spans.</summary>
    void Read(int index, Span<float> image, Span<byte> mask);
    /// <summary>The case's name for messages (default: its index).</summary>
    string CaseName(int index) => $"#{index}";
}

/// <summary>Decodes and prepares each case from disk on every read (for datasets over the memory budget).</summary>
public sealed class DiskCaseSource(IReadOnlyList<TrainingCase> cases, int size, int channels, PreprocessingOptions options) : ICaseSource
{
    public int Count => cases.Count;
    public int Channels => channels;
    public int Size => size;

    public string CaseName(int index) => cases[index].Name;

    public void Read(int index, Span<float> image, Span<byte> mask)
    {
        var c = cases[index];
        try
        {
            var prepared = Preprocessing.LoadImage(c.ImagePath, size, channels, options);
            var (pixels, w, h) = Preprocessing.LoadMask(c.MaskPath, size, options.Resize);
            if (w != prepared.OriginalWidth || h != prepared.OriginalHeight)
                throw new InvalidDataException($"the mask is {w}×{h} but the image is {prepared.OriginalWidth}×{prepared.OriginalHeight}.");
            prepared.Pixels.AsSpan().CopyTo(image);
            pixels.AsSpan().CopyTo(mask);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new TrainingFailedException($"Case '{c.Name}' cannot be read: {e.Message}", e);
        }
    }
}

public static class CaseSources
{
    /// <summary>The in-memory cache (<see cref="CaseStore"/>: all cases decoded once, in parallel) when it fits
    /// <paramref name="memoryBudgetBytes"/>, otherwise a <see cref="DiskCaseSource"/> that decodes on the fly.</summary>
    public static ICaseSource Open(IReadOnlyList<TrainingCase> cases, int size, int channels, PreprocessingOptions options,
        long memoryBudgetBytes, CancellationToken ct = default) =>
        CaseStore.Bytes(cases.Count, size, channels) <= memoryBudgetBytes
            ? CaseStore.Load(cases, size, channels, options, ct)
            : new DiskCaseSource(cases, size, channels, options);

    /// <summary>True when <see cref="Open"/> keeps these cases in memory.</summary>
    public static bool FitsInMemory(int count, int size, int channels, long memoryBudgetBytes) =>
        CaseStore.Bytes(count, size, channels) <= memoryBudgetBytes;
}
