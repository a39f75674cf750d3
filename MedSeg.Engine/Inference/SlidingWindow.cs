using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MedSeg.Engine.Inference;

/// <summary>
/// nnU-Net-style sliding-window prediction: windows of the training size at steps of at most half a window (evenly spread so
/// that the last window ends at the border), each window's probabilities weighted by a Gaussian importance map (σ = tile/8,
/// peak 1, floored at its smallest positive value) and the weighted sum divided by the summed weights.
/// </summary>
public static class SlidingWindow
{
    /// <summary>Window origins along one axis of length <paramref name="size"/> (≥ tile): nnU-Net's compute_steps_for_sliding_window with step 0.5.</summary>
    public static IReadOnlyList<long> Steps(long size, long tile, double stepFraction = 0.5)
    {
        if (size <= tile) return [0];
        var target = tile * stepFraction;
        var count = (long)Math.Ceiling((size - tile) / target) + 1;
        var actual = (double)(size - tile) / (count - 1);
        return Enumerable.Range(0, (int)count).Select(i => (long)Math.Round(actual * i)).ToArray();
    }

    /// <summary>The tile×tile Gaussian importance map (float32, peak 1, centred between the middle pixels).</summary>
    public static Tensor GaussianMap(long tile, double sigmaFraction = 1.0 / 8)
    {
        using var scope = NewDisposeScope();
        var sigma = tile * sigmaFraction;
        using var stop = tile.ToScalar();
        using var centre = ((tile - 1) / 2.0).ToScalar();
        using var twoSigmaSquared = (2 * sigma * sigma).ToScalar();
        var r = arange(Scalars.Zero, stop, Scalars.One, dtype: float32) - centre;
        var g1 = (-(r * r) / twoSigmaSquared).exp();
        var g = outer(g1, g1);
        g = g / g.max();
        var floor = g.min();
        using var least = (floor.item<float>() > 0 ? floor.item<float>() : 1e-8f).ToScalar();
        return clamp_min(g, least).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Probabilities (1, K, H, W) of a (1, C, H, W) image, from <paramref name="probabilities"/> that maps (N, C, tile, tile)
    /// windows to (N, K, tile, tile) probabilities. Images smaller than a tile are zero-padded at the bottom/right and cropped back.
    /// </summary>
    public static Tensor Predict(Tensor image, long tile, Func<Tensor, Tensor> probabilities, int batchSize = 4)
    {
        if (image.dim() != 4 || image.shape[0] != 1)
            throw new ArgumentException($"Expected a (1, C, H, W) image, got ({string.Join(", ", image.shape)}).", nameof(image));
        using var scope = NewDisposeScope();
        var (h, w) = (image.shape[2], image.shape[3]);
        var (ph, pw) = (Math.Max(h, tile), Math.Max(w, tile));
        var x = ph != h || pw != w ? F.pad(image, [0, pw - w, 0, ph - h]) : image;
        var weight = GaussianMap(tile).to(image.device);
        var origins = (from y in Steps(ph, tile) from xx in Steps(pw, tile) select (Y: y, X: xx)).ToList();
        Tensor? sum = null;
        var norm = zeros(ph, pw, device: image.device);
        foreach (var chunk in origins.Chunk(Math.Max(1, batchSize)))
        {
            using var inner = NewDisposeScope();
            var windows = cat(chunk.Select(o => x.narrow(2, o.Y, tile).narrow(3, o.X, tile)).ToArray(), 0);
            var p = probabilities(windows);
            if (sum is null) sum = zeros(1, p.shape[1], ph, pw, device: image.device).MoveToOuterDisposeScope();
            for (var i = 0; i < chunk.Length; i++)
            {
                var (oy, ox) = chunk[i];
                sum.narrow(2, oy, tile).narrow(3, ox, tile).PlusInPlace(p.narrow(0, i, 1) * weight);
                norm.narrow(0, oy, tile).narrow(1, ox, tile).PlusInPlace(weight);
            }
        }
        var result = (sum! / norm).narrow(2, 0, h).narrow(3, 0, w).contiguous();
        return result.MoveToOuterDisposeScope();
    }
}
