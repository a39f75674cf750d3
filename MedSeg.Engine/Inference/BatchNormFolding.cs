using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Inference;

/// <summary>
/// Folds eval-mode BatchNorm into the convolution that feeds it: W' = W·γ/√(σ²+ε) per output channel and
/// b' = (b − μ)·γ/√(σ²+ε) + β. The BatchNorm is then made an identity (mean 0, variance 1 − ε, γ 1, β 0),
/// so the module's own forward still runs and gives the folded result. Only for inference: the model is put in eval mode
/// and must not be trained afterwards (its BatchNorm statistics are gone).
/// </summary>
public static class BatchNormFolding
{
    /// <summary>Name pairs (conv prefix, BatchNorm prefix) under one parent whose numbers match: UNeXt's encoderK → ebnK and decoderK → dbnK.</summary>
    public static readonly IReadOnlyList<(string Conv, string Norm)> NamedPairs = [("encoder", "ebn"), ("decoder", "dbn")];

    /// <summary>
    /// Folds every Conv2d → BatchNorm2d pair of <paramref name="model"/> in place: consecutive children of a
    /// <see cref="Sequential"/>, and the <see cref="NamedPairs"/> siblings. Returns the folded pairs as "conv → bn" paths.
    /// </summary>
    public static IReadOnlyList<string> Fold(nn.Module model)
    {
        model.eval();
        var folded = new List<string>();
        using var _ = no_grad();
        foreach (var (parentName, parent) in model.named_modules().Prepend(("", model)))
        {
            var children = parent.named_children().ToList();
            var prefix = parentName.Length == 0 ? "" : parentName + ".";
            if (parent is Sequential)
            {
                for (var i = 0; i + 1 < children.Count; i++)
                    if (children[i].module is Conv2d conv && children[i + 1].module is BatchNorm2d bn && Compatible(conv, bn))
                    {
                        FoldPair(conv, bn);
                        folded.Add($"{prefix}{children[i].name} → {prefix}{children[i + 1].name}");
                    }
                continue;
            }
            var byName = children.ToDictionary(c => c.name, c => c.module);
            foreach (var (convName, module) in children)
            {
                if (module is not Conv2d conv) continue;
                foreach (var (convPrefix, normPrefix) in NamedPairs)
                {
                    if (!convName.StartsWith(convPrefix, StringComparison.Ordinal)) continue;
                    var number = convName[convPrefix.Length..];
                    if (number.Length == 0 || !number.All(char.IsDigit)) continue;
                    if (byName.GetValueOrDefault(normPrefix + number) is BatchNorm2d bn && Compatible(conv, bn))
                    {
                        FoldPair(conv, bn);
                        folded.Add($"{prefix}{convName} → {prefix}{normPrefix}{number}");
                    }
                }
            }
        }
        return folded;
    }

    /// <summary>The folded weight and bias of a conv followed by an eval-mode BatchNorm (new tensors; the modules are untouched).</summary>
    public static (Tensor Weight, Tensor Bias) FoldedWeights(Tensor weight, Tensor? bias, Tensor gamma, Tensor beta, Tensor mean, Tensor variance, double eps)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var epsilon = eps.ToScalar();
        var scale = gamma / variance.Plus(epsilon).sqrt();
        var w = weight * scale.reshape(-1, 1, 1, 1);
        var b = (((bias ?? zeros_like(mean)) - mean) * scale).Plus(beta);
        return (w.detach().MoveToOuterDisposeScope(), b.detach().MoveToOuterDisposeScope());
    }

    private static bool Compatible(Conv2d conv, BatchNorm2d bn) =>
        bn.running_mean is not null && bn.running_var is not null && conv.weight!.shape[0] == bn.running_mean.shape[0];

    private static void FoldPair(Conv2d conv, BatchNorm2d bn)
    {
        var eps = bn.eps;
        var gamma = bn.weight is null ? ones_like(bn.running_mean!) : bn.weight.detach();
        var beta = bn.bias is null ? zeros_like(bn.running_mean!) : bn.bias.detach();
        var (w, b) = FoldedWeights(conv.weight!, conv.bias, gamma, beta, bn.running_mean!, bn.running_var!, eps);
        conv.weight!.copy_(w);
        if (conv.bias is null) conv.bias = new Parameter(b, requires_grad: false);
        else conv.bias.copy_(b);
        w.Dispose();
        MakeIdentity(bn);
    }

    /// <summary>Mean 0, variance 1 − ε, γ 1, β 0: (x − 0)/√(1 − ε + ε)·1 + 0 = x.</summary>
    private static void MakeIdentity(BatchNorm2d bn)
    {
        bn.running_mean!.zero_();
        using var variance = (1.0 - bn.eps).ToScalar();
        bn.running_var!.fill_(variance);
        bn.weight?.fill_(Scalars.OneDouble);
        bn.bias?.zero_();
    }
}
