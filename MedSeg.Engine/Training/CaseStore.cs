using MedSeg.Engine.Data.Pipeline;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>Cases decoded once (in parallel) and kept in memory at the training size; builds batches with random flips.
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
    public (int Width, int Height) OriginalSize(int i) => (images[i].OriginalWidth, images[i].OriginalHeight);
    /// <summary>Where case i's content sits in the square (letterbox offsets), for <see cref="Preprocessing.ToOriginalSize(Tensor, LetterboxGeometry, double)"/>.</summary>
    public LetterboxGeometry Geometry(int i) => images[i].Geometry;
    public int Channels => Count == 0 ? 0 : images[0].Channels;
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

    /// <summary>(B, C, S, S) images and (B, 1, S, S) 0/1 float masks; with a random source each case is flipped
    /// horizontally and vertically with probability ½ each.</summary>
    public (Tensor Images, Tensor Masks) Batch(int[] indices, Random? random, Device device)
    {
        var c = images[indices[0]].Channels;
        var s = images[indices[0]].Size;
        var plane = s * s;
        var x = new float[indices.Length * c * plane];
        var y = new float[indices.Length * plane];
        for (var b = 0; b < indices.Length; b++)
        {
            var img = images[indices[b]].Pixels;
            var mask = masks[indices[b]];
            var flipX = random is not null && random.Next(2) == 1;
            var flipY = random is not null && random.Next(2) == 1;
            for (var row = 0; row < s; row++)
            {
                var srcRow = flipY ? s - 1 - row : row;
                for (var col = 0; col < s; col++)
                {
                    var src = srcRow * s + (flipX ? s - 1 - col : col);
                    var dst = row * s + col;
                    for (var k = 0; k < c; k++) x[(b * c + k) * plane + dst] = img[k * plane + src];
                    y[b * plane + dst] = mask[src];
                }
            }
        }
        return (tensor(x, [indices.Length, c, s, s]).to(device), tensor(y, [indices.Length, 1, s, s]).to(device));
    }
}
