using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models;

/// <summary>Size of a model: parameters, and multiply-accumulates of one forward pass at the measured input size.</summary>
public sealed record ModelComplexity(long Parameters, long Macs, int InChannels, int Height, int Width)
{
    public double ParametersMillions => Parameters / 1e6;

    /// <summary>Giga multiply-accumulates, the unit that papers quoting thop/ptflops print as "GFLOPs".</summary>
    public double GMacs => Macs / 1e9;
}

/// <summary>
/// Counts parameters and multiply-accumulates (MACs) by running one forward pass (batch 1, eval mode, no grad) with
/// forward hooks on every <see cref="Conv2d"/>, <see cref="ConvTranspose2d"/> and <see cref="Linear"/>, plus the
/// matrix products that attention modules report through <see cref="AddMatmul"/>. Conventions follow thop and ptflops,
/// so that figures compare with the papers: a convolution costs output elements × (input channels / groups) × kernel
/// area; a transposed convolution is counted with the same formula (as both tools do; that is stride² times the work a
/// transposed conv really does, 6.4 G of U-Net's 54.6 G at 256²); a linear layer costs output elements × input features.
/// Biases, normalisation, activations, pooling and interpolation are not counted.
/// </summary>
public static class Complexity
{
    [ThreadStatic] private static long? tally;

    /// <summary>Called by modules that multiply activations by activations (attention scores, attention × values), with the
    /// multiply-accumulates of that product. Does nothing unless a measurement is running on this thread.</summary>
    public static void AddMatmul(long macs)
    {
        if (tally is not null) tally += macs;
    }

    public static ModelComplexity Measure(SegmentationModel model, int inChannels, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(model);
        var wasTraining = model.training;
        var removers = new List<Action>();
        long macs = 0;
        foreach (var module in model.modules())
        {
            switch (module)
            {
                case ConvTranspose2d t:
                    var ht = t.register_forward_hook((_, _, output) =>
                    {
                        // weight is (in, out / groups, kh, kw): groups = out / weight.shape[1].
                        var w = t.weight!;
                        var groups = output.shape[1] / w.shape[1];
                        macs += output.numel() * (w.shape[0] / groups) * w.shape[2] * w.shape[3];
                        return output;
                    });
                    removers.Add(() => ht.remove());
                    break;
                case Conv2d c:
                    var hc = c.register_forward_hook((_, _, output) =>
                    {
                        macs += output.numel() * c.weight!.shape[1] * c.weight.shape[2] * c.weight.shape[3];
                        return output;
                    });
                    removers.Add(() => hc.remove());
                    break;
                case Linear l:
                    var hl = l.register_forward_hook((_, _, output) =>
                    {
                        macs += output.numel() * l.weight!.shape[1];
                        return output;
                    });
                    removers.Add(() => hl.remove());
                    break;
            }
        }
        tally = 0;
        try
        {
            model.eval();
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var device = model.parameters().FirstOrDefault()?.device ?? torch.CPU;
            using var x = torch.zeros(1, inChannels, height, width, device: device);
            using var y = model.call(x);
            macs += tally.Value;
        }
        finally
        {
            tally = null;
            foreach (var remove in removers) remove();
            model.train(wasTraining);
        }
        return new ModelComplexity(model.ParameterCount(), macs, inChannels, height, width);
    }
}
