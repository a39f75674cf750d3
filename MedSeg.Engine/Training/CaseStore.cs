using MedSeg.Engine.Data.Pipeline;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>Cases decoded once (in parallel) and kept in memory at the training size; builds un-augmented batches (validation).
/// Also the in-memory <see cref="ICaseSource"/> of <see cref="BatchLoader"/>.</summary>
internal sealed class CaseStore : ICaseSource
{
    private readonly PreparedImage[] images;
    private readonly byte[][] masks;
    private readonly Dictionary<string, int> byName;

    private CaseStore(IReadOnlyList<TrainingCase> cases, PreparedImage[] images, byte[][] masks)
    {
        Cases = cases;
        this.images = images;
        this.masks = masks;
        byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < cases.Count; i++) byName.TryAdd(cases[i].Name, i);
    }

    public IReadOnlyList<TrainingCase> Cases { get; }
    public int Count => Cases.Count;
    public int IndexOf(string name) => byName.TryGetValue(name, out var i) ? i : -1;
    public string CaseName(int index) => Cases[index].Name;
    public (int Width, int Height) OriginalSize(int i) => (images[i].OriginalWidth, images[i].OriginalHeight);
    /// <summary>Where case i's content sits in the square (letterbox offsets), for <see cref="Preprocessing.ToOriginalSize(Tensor, LetterboxGeometry, double)"/>.</summary>
    public LetterboxGeometry Geometry(int i) => images[i].Geometry;
    public int Channels => Count == 0 ? 0 : images[0].Channels;
    /// <summary>The largest mask label of all cases (0/1 for binary masks).</summary>
    public int MaxLabel => masks.Length == 0 ? 0 : masks.Max(m => m.Length == 0 ? 0 : (int)m.Max());
    public int Size => Count == 0 ? 0 : images[0].Size;

    public void Read(int index, Span<float> image, Span<byte> mask)
    {
        images[index].Pixels.AsSpan().CopyTo(image);
        masks[index].AsSpan().CopyTo(mask);
    }

    public static CaseStore Load(IReadOnlyList<TrainingCase> cases, int size, int channels, CancellationToken ct) =>
        Load(cases, size, channels, PreprocessingOptions.Default, ct);

    /// <summary>Bytes the store holds for <paramref name="count"/> cases (float image + byte mask).</summary>
    public static long Bytes(int count, int size, int channels) => (long)count * size * size * (4L * channels + 1);

    public static CaseStore Load(IReadOnlyList<TrainingCase> cases, int size, int channels, PreprocessingOptions options, CancellationToken ct)
    {
        var images = new PreparedImage[cases.Count];
        var masks = new byte[cases.Count][];
        Parallel.For(0, cases.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var c = cases[i];
            try
            {
                images[i] = Preprocessing.LoadImage(c.ImagePath, size, channels, options);
                var (mask, w, h) = Preprocessing.LoadMask(c.MaskPath, size, options.Resize);
                if (w != images[i].OriginalWidth || h != images[i].OriginalHeight)
                    throw new InvalidDataException(
                        $"the mask is {w}×{h} but the image is {images[i].OriginalWidth}×{images[i].OriginalHeight}.");
                masks[i] = mask;
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                throw new TrainingFailedException($"Case '{c.Name}' cannot be read: {e.Message}", e);
            }
        });
        return new CaseStore(cases, images, masks);
    }

    /// <summary>(B, C, S, S) images and (B, 1, S, S) float masks of labels, as prepared (no augmentation: validation).
    /// Training batches come from <see cref="BatchLoader"/>.</summary>
    public (Tensor Images, Tensor Masks) Batch(int[] indices, Device device)
    {
        var c = Channels;
        var plane = Size * Size;
        var x = new float[indices.Length * c * plane];
        var y = new float[indices.Length * plane];
        for (var b = 0; b < indices.Length; b++)
        {
            images[indices[b]].Pixels.AsSpan().CopyTo(x.AsSpan(b * c * plane, c * plane));
            var mask = masks[indices[b]];
            for (var i = 0; i < plane; i++) y[b * plane + i] = mask[i];
        }
        return (tensor(x, [indices.Length, c, Size, Size]).to(device), tensor(y, [indices.Length, 1, Size, Size]).to(device));
    }
}
