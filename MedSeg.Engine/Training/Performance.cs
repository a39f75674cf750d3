using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>
/// CPU speed levers that apply to every zoo model, measured by <c>medseg bench</c> (see docs/benchmarks.md for their
/// effect on this project's models). Usage in a training loop:
/// <code>
/// Performance.SetThreads(plan.Threads);                 // once, before the first tensor op
/// Performance.ToChannelsLast(model);                    // after the model is on its device, BEFORE the optimizer
/// var optimizer = torch.optim.AdamW(model.parameters(), lr);
/// ...
/// using var x = Performance.ToChannelsLast(batch);      // each batch
/// using (Performance.Inference()) { ... }               // validation and prediction
/// </code>
/// TorchSharp 0.107 has no <c>Tensor.contiguous(memory_format)</c> nor <c>Module.to(memory_format)</c>; the helpers
/// below build the same channels-last ("NHWC in memory, NCHW in shape") tensors through
/// <c>permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)</c>, which libtorch recognises as
/// <c>MemoryFormat::ChannelsLast</c>: oneDNN convolutions then run on NHWC data without reordering, and their outputs
/// (and gradients) stay channels-last.
/// </summary>
public static class Performance
{
    /// <summary>True for a 4-D tensor whose memory is laid out N, H, W, C (channel stride 1), as libtorch's
    /// <c>is_contiguous(ChannelsLast)</c> would say for the usual sizes.</summary>
    public static bool IsChannelsLast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() != 4) return false;
        var size = tensor.shape;
        var stride = tensor.stride();
        long expected = 1;
        // Channels-last order of strides, innermost first: C, W, H, N (size-1 dims may have any stride).
        foreach (var d in new[] { 1, 3, 2, 0 })
        {
            if (size[d] != 1 && stride[d] != expected) return false;
            expected *= size[d];
        }
        return true;
    }

    /// <summary>A channels-last copy of a 4-D tensor (the same tensor with one more reference when it already is
    /// channels-last; any other rank is returned likewise unchanged). The result is a new handle the caller disposes.
    /// Autograd flows through the copy.</summary>
    public static Tensor ToChannelsLast(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() != 4 || IsChannelsLast(tensor)) return tensor.alias();
        using var nhwc = tensor.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// Converts the 4-D weights of every convolution (<see cref="Conv2d"/>, <see cref="ConvTranspose2d"/>, and any
    /// other <see cref="Convolution"/>) of <paramref name="model"/> to channels-last memory, in place of the old
    /// parameters (values, <c>requires_grad</c> and names are kept). Returns how many weights were converted.
    /// Call it after moving the model to its device and BEFORE creating the optimizer: the optimizer must see the new
    /// parameter objects. Modules that hold 4-D parameters outside a convolution are left as they are (libtorch
    /// handles mixed layouts, only slower).
    /// </summary>
    public static int ToChannelsLast(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var converted = 0;
        using var noGrad = torch.no_grad();
        foreach (var module in model.modules())
        {
            if (module is not Convolution conv) continue;
            var weight = conv.weight;
            if (weight is null || weight.dim() != 4 || IsChannelsLast(weight)) continue;
            var requiresGrad = weight.requires_grad;
            using var data = ToChannelsLast(weight.detach());
            conv.weight = new Parameter(data.detach(), requiresGrad);
            converted++;
        }
        return converted;
    }

    /// <summary>Sets libtorch's intra-op threads (one per physical core is usually fastest on CPU; hyper-threads and
    /// more threads than cores only add contention). Null or non-positive keeps libtorch's default. Call once, early.
    /// </summary>
    public static void SetThreads(int? threads)
    {
        if (threads is > 0 && torch.get_num_threads() != threads.Value) torch.set_num_threads(threads.Value);
    }

    /// <summary>
    /// <c>torch.inference_mode()</c>: like <c>no_grad</c>, and also skips version counters and view tracking, so
    /// forward passes that never need gradients (validation, prediction) allocate and bookkeep less. Tensors created
    /// inside must not be used in autograd afterwards. Put the model in <c>eval()</c> as well.
    /// </summary>
    public static IDisposable Inference() => torch.inference_mode();

    /// <summary>Whether autograd anomaly detection is on (it is off unless someone turned it on to debug).</summary>
    public static bool AnomalyDetectionEnabled => AnomalyMode.IsEnabled;

    // Disposing an AnomalyMode restores the previous setting, so the guard that turned detection off is kept alive.
    private static AnomalyMode? anomalyOff;

    /// <summary>Turns autograd anomaly detection off for the process (it records a stack trace per operation and
    /// checks every backward result for NaN, which costs a lot); it is off by default, so this only undoes a
    /// debugging session that left it on.</summary>
    public static void DisableAnomalyDetection()
    {
        if (AnomalyMode.IsEnabled) anomalyOff = torch.autograd.set_detect_anomaly(false);
    }
}
