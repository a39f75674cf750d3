using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Deep supervision: Σ wᵢ·loss(outputsᵢ, targetᵢ) over a list of logits, highest resolution first. An output smaller than the
/// target gets the target resized to its H×W with nearest-neighbour (PyTorch's "nearest", labels stay labels), as nnU-Net
/// downsamples its segmentation; outputs at the target's size (UNet++ deep supervision) use the target as is.
/// Weights default to nnU-Net's (<see cref="NnUNetWeights"/>); pass <see cref="EqualWeights"/> for UNet++. Terms of weight 0 are skipped.
/// </summary>
public sealed class DeepSupervisionLoss : nn.Module<IReadOnlyList<Tensor>, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor, Tensor> loss;
    private readonly double[]? weights;

    /// <param name="loss">the loss applied at every output (any mode).</param>
    /// <param name="weights">one weight per output, used as given; null = <see cref="NnUNetWeights"/> for however many outputs come.</param>
    public DeepSupervisionLoss(nn.Module<Tensor, Tensor, Tensor> loss, IReadOnlyList<double>? weights = null) : base(nameof(DeepSupervisionLoss))
    {
        if (weights is not null && (weights.Count == 0 || weights.Any(w => w < 0 || double.IsNaN(w) || double.IsInfinity(w))))
            throw new ArgumentOutOfRangeException(nameof(weights), "Deep supervision weights must be finite and ≥ 0, one per output.");
        this.loss = loss;
        this.weights = weights?.ToArray();
        RegisterComponents();
    }

    public IReadOnlyList<double>? Weights => weights;

    /// <summary>nnU-Net: wᵢ = 1/2ⁱ, the lowest resolution set to 0, normalised to sum 1 (one output: [1]).</summary>
    public static double[] NnUNetWeights(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "At least one output.");
        if (count == 1) return [1.0];
        var w = Enumerable.Range(0, count).Select(i => 1.0 / (1 << Math.Min(i, 30))).ToArray();
        w[^1] = 0;
        var sum = w.Sum();
        return [.. w.Select(x => x / sum)];
    }

    /// <summary>1/n each (UNet++ averages its supervised outputs).</summary>
    public static double[] EqualWeights(int count) =>
        count < 1 ? throw new ArgumentOutOfRangeException(nameof(count), "At least one output.") : Enumerable.Repeat(1.0 / count, count).ToArray();

    public override Tensor forward(IReadOnlyList<Tensor> outputs, Tensor target)
    {
        if (outputs.Count == 0) throw new ArgumentException("Deep supervision needs at least one output.", nameof(outputs));
        var w = weights ?? NnUNetWeights(outputs.Count);
        if (w.Length != outputs.Count)
            throw new ArgumentException($"{outputs.Count} outputs but {w.Length} deep supervision weights.", nameof(outputs));
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (var i = 0; i < outputs.Count; i++)
        {
            if (w[i] == 0) continue;
            using var weight = w[i].ToScalar();
            var term = weight * loss.call(outputs[i], Resize(target, outputs[i]));
            total = total is null ? term : total.Plus(term);
        }
        return (total ?? outputs[0].sum() * Scalars.Zero).MoveToOuterDisposeScope();
    }

    /// <summary>The target at the output's spatial size (nearest), keeping its dtype and layout (N×H×W labels or N×C×H×W).</summary>
    public static Tensor Resize(Tensor target, Tensor output)
    {
        long h = output.shape[^2], w = output.shape[^1];
        if (target.shape[^2] == h && target.shape[^1] == w) return target;
        if (target.shape[^2] < h || target.shape[^1] < w)
            throw new ArgumentException($"Output {LossInputs.Shape(output)} is larger than the target {LossInputs.Shape(target)}; deep supervision only downsamples.");
        var labels = target.dim() == output.dim() - 1;
        var x = labels ? target.unsqueeze(1) : target;
        var resized = nn.functional.interpolate(x.to_type(ScalarType.Float32), [h, w], mode: InterpolationMode.Nearest).to_type(target.dtype);
        return labels ? resized.squeeze(1) : resized;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) loss.Dispose();
        base.Dispose(disposing);
    }
}
