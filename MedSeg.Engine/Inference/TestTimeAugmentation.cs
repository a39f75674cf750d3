using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Inference;

/// <summary>Flip test-time augmentation: the mean of the probabilities of x, flip_W(x), flip_H(x) and flip_HW(x), each flipped back.</summary>
public static class TestTimeAugmentation
{
    private static readonly long[][] Flips = [[3], [2], [2, 3]];
    private static readonly Scalar Views = (Flips.Length + 1).ToScalar();

    public static Tensor Apply(Tensor x, Func<Tensor, Tensor> probabilities)
    {
        using var scope = NewDisposeScope();
        var sum = probabilities(x);
        foreach (var dims in Flips) sum = sum.Plus(probabilities(x.flip(dims)).flip(dims));
        return (sum / Views).MoveToOuterDisposeScope();
    }
}
