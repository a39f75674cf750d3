using System.Diagnostics;
using MedSeg.Engine;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Cli.Benchmarking;

/// <summary>What a contestant is once built: parameters, MACs (per image for models, per call for the ceiling conv)
/// and the architecture variant.</summary>
public sealed record ContestantSize(long Parameters, long Macs, string Variant);

/// <summary>
/// One thing <see cref="ModelBenchmark"/> times: a zoo model or the ceiling conv, run by us (TorchSharp, in this
/// process) or by PyTorch (in the child process of a <see cref="TorchTwin"/>), in one memory format and thread count.
/// Steps return wall and process-CPU milliseconds. Peak memory is read in the process the contestant runs in.
/// </summary>
public interface IContestant : IDisposable
{
    string Engine { get; }
    string Model { get; }
    MemoryLayout Layout { get; }
    /// <summary>PyTorch's oneDNN switch; null for us (libtorch decides).</summary>
    bool? Mkldnn { get; }
    int Threads { get; }
    bool CanTrain { get; }
    /// <summary>Why the contestant could not be built (a placeholder model), after <see cref="Build"/> returned null.</summary>
    string? Note { get; }

    ContestantSize? Build();
    long ResetPeak();
    double PeakMb(long start);
    (double Ms, double CpuMs) Forward(bool inferenceMode);
    /// <summary>Zero gradients and one optimizer step on them, so that gradients and AdamW state exist before the
    /// first train step and the memory figure covers the steady state of training.</summary>
    void PrimeOptimizer();
    (double Ms, double CpuMs) Train();
    bool Finite();
}

/// <summary>A zoo model run by TorchSharp in this process.</summary>
public sealed class OursModel(string model, BenchConfig config, MemoryLayout layout, int threads) : IContestant
{
    private SegmentationModel? net;
    private optim.Optimizer? optimizer;
    private Tensor? x, y;
    private readonly List<float> losses = [];

    public string Engine => "TorchSharp";
    public string Model => model;
    public MemoryLayout Layout => layout;
    public bool? Mkldnn => null;
    public int Threads => threads;
    public bool CanTrain => true;
    public string? Note { get; private set; }

    public ContestantSize? Build()
    {
        Performance.SetThreads(threads);
        torch.manual_seed(1);
        net = ModelRegistry.Create(model, new ModelOptions(config.InChannels, config.Classes));
        var variant = (net as IVariantModel)?.Variant ?? "-";
        ModelComplexity complexity;
        try
        {
            complexity = Complexity.Measure(net, config.InChannels, config.Size, config.Size);
        }
        catch (NotSupportedException e)
        {
            Note = $"skipped: {e.Message} (a placeholder in this build; it is measured once the model is implemented)";
            return null;
        }
        if (layout == MemoryLayout.ChannelsLastAll) Performance.ToChannelsLast(net);
        using var scope = torch.NewDisposeScope();
        var input = torch.randn(config.Batch, config.InChannels, config.Size, config.Size);
        using var half = 0.5.ToScalar();
        var target = torch.rand(config.Batch, config.Classes, config.Size, config.Size).gt(half).to_type(ScalarType.Float32);
        var cl = layout.IsChannelsLast();
        x = (cl ? Performance.ToChannelsLast(input) : input).MoveToOuterDisposeScope();
        y = (cl ? Performance.ToChannelsLast(target) : target).MoveToOuterDisposeScope();
        return new ContestantSize(complexity.Parameters, complexity.Macs, variant);
    }

    public long ResetPeak() => ProcessStats.ResetPeak();

    public double PeakMb(long start) => ProcessStats.PeakDeltaMb(start);

    public (double Ms, double CpuMs) Forward(bool inferenceMode)
    {
        var model = net!;
        model.eval();
        return Timed(() =>
        {
            using var scope = torch.NewDisposeScope();
            using var guard = inferenceMode ? Performance.Inference() : torch.no_grad();
            model.call(x!);
        });
    }

    public void PrimeOptimizer()
    {
        var model = net!;
        var opt = optimizer ??= torch.optim.AdamW(model.parameters(), lr: 1e-3);
        using var scope = torch.NewDisposeScope();
        // d/dp of sum(p · 0) = 0: every parameter gets a (zero) gradient in its own layout, then AdamW creates its state.
        var zero = model.parameters().Select(p => (p * Scalars.Zero).sum()).Aggregate((a, b) => a.Plus(b));
        zero.backward();
        opt.step();
        opt.zero_grad();
    }

    public (double Ms, double CpuMs) Train()
    {
        var model = net!;
        model.train();
        var opt = optimizer ??= torch.optim.AdamW(model.parameters(), lr: 1e-3);
        return Timed(() =>
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var logits = model.call(x!);
            var loss = nn.functional.binary_cross_entropy_with_logits(logits, y!);
            loss.backward();
            opt.step();
            losses.Add(loss.item<float>());
        });
    }

    public bool Finite()
    {
        if (!losses.All(float.IsFinite)) return false;
        using var noGrad = torch.no_grad();
        foreach (var p in net!.parameters())
        {
            using var ok = torch.isfinite(p).all();
            if (!ok.item<bool>()) return false;
        }
        return true;
    }

    private (double Ms, double CpuMs) Timed(Action step)
    {
        Performance.SetThreads(threads);
        var cpu0 = ProcessStats.CpuTime();
        var t0 = Stopwatch.GetTimestamp();
        step();
        return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, (ProcessStats.CpuTime() - cpu0).TotalMilliseconds);
    }

    public void Dispose()
    {
        optimizer?.Dispose();
        x?.Dispose();
        y?.Dispose();
        net?.Dispose();
    }
}

/// <summary>The ceiling conv (8 × 256 → 256 channels at 64×64, 3×3, 19.3 GMACs) run by TorchSharp.</summary>
public sealed class OursCeiling(MemoryLayout layout, int threads) : IContestant
{
    public const int N = 8, C = 256, HW = 64;
    public const long Macs = (long)N * C * HW * HW * C * 9;
    public const string Shape = "8x256x64x64 -> 256, 3x3";

    private TorchSharp.Modules.Conv2d? conv;
    private Tensor? x;

    public string Engine => "TorchSharp";
    public string Model => "ceiling";
    public MemoryLayout Layout => layout;
    public bool? Mkldnn => null;
    public int Threads => threads;
    public bool CanTrain => false;
    public string? Note => null;

    public ContestantSize? Build()
    {
        torch.manual_seed(1);
        conv = nn.Conv2d(C, C, 3, padding: 1, bias: false);
        conv.eval();
        using var input = torch.randn(N, C, HW, HW);
        if (layout == MemoryLayout.ChannelsLastAll) Performance.ToChannelsLast(conv);
        x = layout.IsChannelsLast() ? Performance.ToChannelsLast(input) : input.alias();
        return new ContestantSize(conv.weight!.numel(), Macs, "-");
    }

    public long ResetPeak() => ProcessStats.ResetPeak();

    public double PeakMb(long start) => ProcessStats.PeakDeltaMb(start);

    public (double Ms, double CpuMs) Forward(bool inferenceMode)
    {
        var previous = torch.get_num_threads();
        torch.set_num_threads(threads);
        try
        {
            var cpu0 = ProcessStats.CpuTime();
            var t0 = Stopwatch.GetTimestamp();
            using (var scope = torch.NewDisposeScope())
            using (var guard = inferenceMode ? Performance.Inference() : torch.no_grad())
            {
                conv!.call(x!);
            }
            return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, (ProcessStats.CpuTime() - cpu0).TotalMilliseconds);
        }
        finally
        {
            torch.set_num_threads(previous);
        }
    }

    public void PrimeOptimizer() => throw new NotSupportedException("The ceiling conv is not trained.");

    public (double Ms, double CpuMs) Train() => throw new NotSupportedException("The ceiling conv is not trained.");

    public bool Finite() => true;

    public void Dispose()
    {
        x?.Dispose();
        conv?.Dispose();
    }
}

/// <summary>A PyTorch twin (or PyTorch's ceiling conv) loaded under <paramref name="id"/> in a <see cref="TorchTwin"/>.
/// Channels-last there is PyTorch's usual <c>model.to(memory_format=torch.channels_last)</c> plus a channels-last input.</summary>
public sealed class TwinContestant(TorchTwin twin, int id, string model, bool channelsLast, bool mkldnn, int threads) : IContestant
{
    public string Engine => "PyTorch";
    public string Model => model;
    public MemoryLayout Layout => channelsLast ? MemoryLayout.ChannelsLastAll : MemoryLayout.Nchw;
    public bool? Mkldnn => mkldnn;
    public int Threads => threads;
    public bool CanTrain => model != "ceiling";
    public string? Note { get; private set; }

    public ContestantSize? Build()
    {
        try
        {
            var (parameters, macs) = twin.Load(id, model, channelsLast, mkldnn, threads);
            return new ContestantSize(parameters, macs, "-");
        }
        catch (TorchTwinException e)
        {
            Note = e.Message;
            return null;
        }
    }

    public long ResetPeak() => twin.ResetPeak();

    public double PeakMb(long start) => twin.PeakMb(start);

    public (double Ms, double CpuMs) Forward(bool inferenceMode) => twin.Step(id, "fwd", inferenceMode ? "inference_mode" : "no_grad");

    public void PrimeOptimizer() => twin.Prime(id);

    public (double Ms, double CpuMs) Train() => twin.Step(id, "train");

    public bool Finite() => twin.Finite(id);

    public void Dispose() => twin.Unload(id);
}
