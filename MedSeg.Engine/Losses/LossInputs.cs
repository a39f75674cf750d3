using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>Shape checks and target normalisation shared by the losses.</summary>
internal static class LossInputs
{
    /// <summary>
    /// Binary/Multilabel: a float target of the logits' shape (N×H×W is accepted for N×1×H×W logits in Binary mode).
    /// Multiclass: an int64 N×H×W label target (N×1×H×W accepted). Throws with both shapes in the message otherwise.
    /// </summary>
    public static Tensor Target(Tensor logits, Tensor target, LossMode mode)
    {
        switch (mode)
        {
            case LossMode.Binary:
                if (target.dim() == logits.dim() - 1 && logits.dim() >= 2 && logits.shape[1] == 1) target = target.unsqueeze(1);
                RequireSameShape(logits, target, mode);
                return target.to_type(logits.dtype);
            case LossMode.Multilabel:
                RequireSameShape(logits, target, mode);
                return target.to_type(logits.dtype);
            case LossMode.Multiclass:
                if (logits.dim() < 3)
                    throw new ArgumentException($"Multiclass logits must be N×C×H×W, got {Shape(logits)}.");
                if (target.dim() == logits.dim() && target.shape[1] == 1) target = target.squeeze(1);
                var expected = logits.shape.Where((_, i) => i != 1).ToArray();
                if (!target.shape.SequenceEqual(expected))
                    throw new ArgumentException($"Multiclass target must be {Shape(expected)} labels for logits {Shape(logits)}, got {Shape(target)}.");
                if (target.is_floating_point() || target.dtype == ScalarType.Bool)
                    throw new ArgumentException($"Multiclass target must hold integer class labels, got {target.dtype}.");
                return target.to_type(ScalarType.Int64);
            default:
                throw new ArgumentOutOfRangeException(nameof(mode));
        }
    }

    /// <summary>Probabilities and a one-hot (Multiclass) or 0/1 target, both N×C×H×W, and a 0/1 mask of the pixels that count.</summary>
    public static (Tensor Probabilities, Tensor Truth, Tensor Valid) Soft(Tensor logits, Tensor target, LossMode mode, long? ignoreIndex)
    {
        var t = Target(logits, target, mode);
        if (mode == LossMode.Multiclass)
        {
            var classes = logits.shape[1];
            using var ignored = ignoreIndex?.ToScalar();
            var valid = ignored is not null ? t.ne(ignored) : ones_like(t, dtype: ScalarType.Bool);
            var labels = t.masked_fill(valid.logical_not(), Scalars.Zero);
            CheckLabels(labels, classes);
            var oneHot = nn.functional.one_hot(labels, classes).movedim([-1L], [1L]).to_type(logits.dtype);
            return (logits.softmax(1), oneHot, valid.unsqueeze(1).to_type(logits.dtype));
        }
        using var ignore = ignoreIndex?.ToScalar();
        var mask = ignore is not null ? t.ne(ignore) : ones_like(t, dtype: ScalarType.Bool);
        return (logits.sigmoid(), t.masked_fill(mask.logical_not(), Scalars.Zero), mask.to_type(logits.dtype));
    }

    public static void CheckLabels(Tensor labels, long classes)
    {
        if (labels.numel() == 0) return;
        var min = labels.min().item<long>();
        var max = labels.max().item<long>();
        if (min < 0 || max >= classes)
            throw new ArgumentException($"Target labels must be 0 … {classes - 1} (or the ignore index), found {min} … {max}.");
    }

    /// <summary>Sum over every dimension but the channel one (1): per-channel totals, shape [C].</summary>
    public static Tensor SumPerChannel(Tensor x) => x.transpose(0, 1).reshape(x.shape[1], -1).sum(1);

    public static Tensor Weights(IReadOnlyList<double> weights, Tensor like, string what)
    {
        if (weights.Count != like.shape[1])
            throw new ArgumentException($"{what} has {weights.Count} entries but the logits have {like.shape[1]} channels.");
        return tensor(weights.ToArray(), dtype: like.dtype, device: like.device);
    }

    public static string Shape(Tensor t) => Shape(t.shape);

    public static string Shape(long[] shape) => "(" + string.Join(", ", shape) + ")";

    private static void RequireSameShape(Tensor logits, Tensor target, LossMode mode)
    {
        if (!logits.shape.SequenceEqual(target.shape))
            throw new ArgumentException($"{mode} mode needs logits and target of the same shape, got logits {Shape(logits)} and target {Shape(target)}.");
    }
}
