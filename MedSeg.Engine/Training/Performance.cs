using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>
/// CPU speed levers that apply to every zoo model, measured by <c>medseg bench</c> (docs/benchmarks.md gives their
/// effect on this project's models). In a training loop:
/// <code>
/// Performance.SetThreads(plan.Threads);                       // once, before the first tensor op
/// var optimizer = torch.optim.AdamW(model.parameters(), lr);  // weights stay NCHW: checkpoints keep working
/// ...
/// using var x = Performance.ToChannelsLast(images);           // each batch: activations and convs run NHWC
/// ...
/// model.eval();
/// using (Performance.Inference()) { ... }                     // validation
/// </code>
/// For inference only (a predictor, an export), the weights can be made channels-last too with
/// <see cref="ToChannelsLast(nn.Module)"/>, after loading them; TorchSharp 0.107's <c>Module.save</c>,
/// <c>Module.load</c> and <c>Optimizer.save_state_dict</c> throw on such weights and on the AdamW state derived from
/// them ("Bytes() called on non-contiguous tensor"), so a trainer that checkpoints should keep its weights NCHW (or
/// save the model through <see cref="SaveContiguous"/>; nothing covers the optimizer).
/// <para>
/// TorchSharp 0.107 has no <c>Tensor.contiguous(memory_format)</c> nor <c>Module.to(memory_format)</c>; the helpers build
/// the same channels-last ("NHWC in memory, NCHW in shape") tensors through
/// <c>permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)</c>, which libtorch recognises as
/// <c>MemoryFormat::ChannelsLast</c>. A convolution whose input is channels-last runs oneDNN's NHWC kernels (weights
/// are reordered on the fly when they are NCHW) and returns channels-last output, so one converted batch carries the
/// format through the network and its backward.
/// </para>
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
    /// other <see cref="Convolution"/>) of <paramref name="model"/> to channels-last memory, replacing the parameter
    /// objects (values, <c>requires_grad</c> and names are kept; the old ones are disposed). Returns how many weights
    /// were converted. Call it after moving the model to its device and before creating any optimizer, which must see
    /// the new parameters, and after loading weights (<c>model.load</c> into channels-last weights throws). Afterwards
    /// <c>model.save</c> throws too: save with <see cref="SaveContiguous"/>. Meant for
    /// inference; for training, a channels-last batch alone gives the NHWC kernels (see the class remarks).
    /// Modules that hold 4-D parameters outside a convolution are left as they are.
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

    /// <summary>
    /// Writes <paramref name="model"/>'s state dict in TorchSharp's own format, byte for byte what <c>model.save(path)</c>
    /// writes for NCHW weights, except that non-contiguous tensors such as channels-last weights are written from
    /// contiguous copies instead of throwing. Read it back with <c>model.load(path)</c> into an NCHW model (loading
    /// into channels-last weights throws the same way), then convert.
    /// </summary>
    public static void SaveContiguous(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var scope = torch.NewDisposeScope();
        var state = model.state_dict();
        var contiguous = new Dictionary<string, Tensor>(state.Count);
        foreach (var (name, tensor) in state) contiguous[name] = tensor.is_contiguous() ? tensor : tensor.contiguous();
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        nn.Module.save_state_dict(writer, contiguous);
    }

    /// <summary>
    /// Replaces every non-contiguous tensor of the optimizer's per-parameter state (AdamW's moments, SGD's momentum
    /// buffer, …) by a contiguous copy, so that <c>save_state_dict</c> and <c>load_state_dict</c> work: the state of
    /// channels-last weights is created channels-last, and TorchSharp 0.107 cannot serialize such tensors. Values are
    /// unchanged and the optimizer keeps working (its in-place updates accept mixed layouts). Returns how many tensors
    /// were replaced.
    /// </summary>
    public static int MakeStateContiguous(OptimizerHelper optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var replaced = 0;
        using var noGrad = torch.no_grad();
        foreach (var state in optimizer.state_dict().State)
        {
            foreach (var field in state.GetType().GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
            {
                if (field.FieldType != typeof(Tensor) || field.GetValue(state) is not Tensor tensor || tensor.IsInvalid || tensor.is_contiguous()) continue;
                var copy = tensor.contiguous();
                field.SetValue(state, copy);
                tensor.Dispose();
                replaced++;
            }
        }
        return replaced;
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
