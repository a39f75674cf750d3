using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.UNeXt;

/// <summary>
/// The weight initialisation the reference applies inside its tokenized-MLP modules (not to the conv encoder/decoder,
/// which keep PyTorch's defaults): Linear ~ truncated normal(std 0.02) with zero bias, Conv2d ~ normal(0, sqrt(2 / fan_out))
/// with fan_out = k·k·out / groups and zero bias, LayerNorm weight 1 and bias 0 (already the default).
/// </summary>
internal static class UNeXtInit
{
    private static readonly Scalar MinusTwo = (-2.0).ToScalar();

    public static void Linear(Linear layer)
    {
        using var _ = no_grad();
        // timm's trunc_normal_(std=.02) truncates at the absolute values ±2, i.e. at ±100 σ: a plain normal is the same
        // distribution. (TorchSharp 0.107's trunc_normal_ occasionally returns ±inf through erfinv, so it is avoided.)
        nn.init.normal_(layer.weight!, 0, 0.02).clamp_(MinusTwo, Scalars.TwoDouble);
        if (layer.bias is not null) nn.init.zeros_(layer.bias);
    }

    public static void Conv(Conv2d conv, long kernel, long outChannels, long groups)
    {
        using var _ = no_grad();
        var fanOut = kernel * kernel * outChannels / groups;
        nn.init.normal_(conv.weight!, 0, Math.Sqrt(2.0 / fanOut));
        if (conv.bias is not null) nn.init.zeros_(conv.bias);
    }
}
