using System.Diagnostics;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Cli.Benchmarking;

/// <summary>Batch, square input size, untimed warm-up repetitions and timed iterations (medians are reported).</summary>
public sealed record BenchConfig(int Batch, int Size, int Warmup, int Iters, int Threads, int InChannels = 3, int Classes = 1);

/// <summary>One timed phase: median and every iteration in ms, peak resident growth (MiB) and the share of
/// <c>threads</c> cores the process kept busy (below ~90 % means something else competed for the CPU).</summary>
public sealed record Phase(double MedianMs, IReadOnlyList<double> Ms, double PeakMb, double CpuPercent);

/// <summary>
/// One model in one setting, measured by us (engine "TorchSharp") or by the PyTorch script (engine "PyTorch").
/// <see cref="Forward"/> is eval + inference_mode (or no_grad when the setting says so), <see cref="ForwardNoGrad"/>
/// an extra no_grad forward where the inference-mode lever was A/B-tested, <see cref="Train"/> one optimizer step.
/// </summary>
public sealed record Measurement(
    string Engine, string Model, string Variant, long Parameters, long Macs, bool ChannelsLast, string ForwardMode,
    Phase? Forward, Phase? ForwardNoGrad, Phase? Train, bool Finite, string? Note, bool? Mkldnn = null)
{
    public string Layout => ChannelsLast ? "channels-last" : "NCHW";
}

/// <summary>Conv ceiling: one big 3×3 convolution forward, the best GFLOP/s a model's convolutions could reach.</summary>
public sealed record CeilingResult(string Engine, string Shape, long Macs, double Ms, double GFlops, bool ChannelsLast, int Threads, bool? Mkldnn = null)
{
    public string Layout => ChannelsLast ? "channels-last" : "NCHW";
}

/// <summary>
/// Times zoo models with TorchSharp: forward (eval + inference_mode, optionally also no_grad) and train step (forward +
/// BCE-with-logits + backward + AdamW step, each in its own dispose scope) on random inputs. When a
/// <see cref="TorchTwin"/> is given, each of our steps is followed by the same step of the PyTorch twin (after a short
/// pause, so that neither side's idle OpenMP threads spin into the other's time): both sides then see the same load.
/// </summary>
public static class ModelBenchmark
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    /// <summary>Measures <paramref name="name"/> with us (unless <paramref name="ours"/> is false) and with its PyTorch
    /// twin (when <paramref name="twin"/> is given), interleaved. A model of ours that throws
    /// <see cref="NotSupportedException"/> (a placeholder) comes back with a <see cref="Measurement.Note"/> and no
    /// phases, and the twin is still measured.</summary>
    public static (Measurement? Ours, Measurement? Theirs) Run(string name, BenchConfig config, bool channelsLast,
        bool abTestInferenceMode, TorchTwin? twin, bool twinMkldnn = true, bool ours = true, Action<string>? log = null)
    {
        var layout = channelsLast ? "channels-last" : "NCHW";
        torch.manual_seed(1);
        using var scope = torch.NewDisposeScope();
        SegmentationModel? model = null;
        Measurement? oursResult = null;
        Measurement? theirsResult = null;
        string variant = "-";
        ModelComplexity? complexity = null;
        Tensor? x = null, y = null;
        optim.Optimizer? optimizer = null;
        try
        {
            if (ours)
            {
                model = ModelRegistry.Create(name, new ModelOptions(config.InChannels, config.Classes));
                variant = (model as IVariantModel)?.Variant ?? "-";
                try
                {
                    complexity = Complexity.Measure(model, config.InChannels, config.Size, config.Size);
                    if (channelsLast) Performance.ToChannelsLast(model);
                    x = torch.randn(config.Batch, config.InChannels, config.Size, config.Size);
                    y = (torch.rand(config.Batch, config.Classes, config.Size, config.Size) > 0.5).to_type(ScalarType.Float32);
                    if (channelsLast)
                    {
                        x = Performance.ToChannelsLast(x);
                        y = Performance.ToChannelsLast(y);
                    }
                }
                catch (NotSupportedException e)
                {
                    oursResult = Skipped(e);
                }
            }
            (long Parameters, long Macs)? theirsSize = null;
            string? theirsNote = null;
            if (twin is not null)
            {
                try
                {
                    theirsSize = twin.Load(name, channelsLast, twinMkldnn, config.Threads);
                }
                catch (TorchTwinException e)
                {
                    theirsNote = e.Message;
                }
            }
            var runOurs = model is not null && oursResult is null;
            var runTheirs = theirsSize is not null;
            var who = (runOurs ? "TorchSharp" : "") + (runOurs && runTheirs ? " + " : "") + (runTheirs ? $"PyTorch (oneDNN {(twinMkldnn ? "on" : "off")})" : "");
            if (!runOurs && !runTheirs) return (oursResult, null);

            model?.eval();
            log?.Invoke($"{name}: forward, {layout}, inference_mode: {who}");
            var (fwd, theirsFwd) = Paired(config,
                runOurs ? () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var guard = Performance.Inference();
                    model!.call(x!);
                } : null,
                runTheirs ? () => twin!.Step("fwd", "inference_mode") : null, twin);
            Phase? fwdNoGrad = null, theirsNoGrad = null;
            if (abTestInferenceMode)
            {
                log?.Invoke($"{name}: forward, {layout}, no_grad: {who}");
                (fwdNoGrad, theirsNoGrad) = Paired(config,
                    runOurs ? () =>
                    {
                        using var s = torch.NewDisposeScope();
                        using var guard = torch.no_grad();
                        model!.call(x!);
                    } : null,
                    runTheirs ? () => twin!.Step("fwd", "no_grad") : null, twin);
            }

            model?.train();
            var losses = new List<float>();
            if (runOurs) optimizer = torch.optim.AdamW(model!.parameters(), lr: 1e-3);
            log?.Invoke($"{name}: train step, {layout}: {who}");
            var (train, theirsTrain) = Paired(config,
                runOurs ? () =>
                {
                    using var s = torch.NewDisposeScope();
                    optimizer!.zero_grad();
                    var logits = model!.call(x!);
                    var loss = nn.functional.binary_cross_entropy_with_logits(logits, y!);
                    loss.backward();
                    optimizer.step();
                    losses.Add(loss.item<float>());
                } : null,
                runTheirs ? () => twin!.Step("train") : null, twin);

            if (runOurs)
            {
                var finite = losses.All(float.IsFinite) && ParametersFinite(model!);
                oursResult = new Measurement("TorchSharp", name, variant, complexity!.Parameters, complexity.Macs, channelsLast,
                    "inference_mode", fwd, fwdNoGrad, train, finite, finite ? null : "non-finite loss or weights");
            }
            if (runTheirs)
            {
                var finite = twin!.Finite();
                theirsResult = new Measurement("PyTorch", name, "-", theirsSize!.Value.Parameters, theirsSize.Value.Macs, channelsLast,
                    "inference_mode", theirsFwd, theirsNoGrad, theirsTrain, finite, finite ? null : "non-finite loss or weights", twinMkldnn);
            }
            else if (theirsNote is not null)
            {
                theirsResult = new Measurement("PyTorch", name, "-", 0, 0, channelsLast, "inference_mode", null, null, null, true, theirsNote, twinMkldnn);
            }
            return (oursResult, theirsResult);
        }
        catch (NotSupportedException e) when (model is not null)
        {
            return (Skipped(e), theirsResult);
        }
        finally
        {
            optimizer?.Dispose();
            model?.Dispose();
        }

        Measurement Skipped(NotSupportedException e) =>
            new("TorchSharp", name, variant, model!.ParameterCount(), 0, channelsLast, "inference_mode", null, null, null, true,
                $"skipped: {e.Message} (a placeholder in this build; it is measured once the model is implemented)");
    }

    /// <summary>Ceiling conv: 8 × 256 → 256 channels at 64×64, 3×3 (19.3 GMACs), forward in inference mode, ours and
    /// (when given) PyTorch's, interleaved.</summary>
    public static (CeilingResult? Ours, CeilingResult? Theirs) ConvCeiling(BenchConfig config, bool channelsLast, int threads,
        TorchTwin? twin, bool twinMkldnn = true, bool ours = true)
    {
        const int n = 8, c = 256, hw = 64;
        const long macs = (long)n * c * hw * hw * c * 9;
        const string shape = "8x256x64x64 -> 256, 3x3";
        var previous = torch.get_num_threads();
        torch.set_num_threads(threads);
        try
        {
            torch.manual_seed(1);
            using var conv = nn.Conv2d(c, c, 3, padding: 1, bias: false);
            conv.eval();
            using var scope = torch.NewDisposeScope();
            var x = torch.randn(n, c, hw, hw);
            if (channelsLast)
            {
                Performance.ToChannelsLast(conv);
                x = Performance.ToChannelsLast(x);
            }
            var runTheirs = false;
            if (twin is not null)
            {
                twin.Load("ceiling", channelsLast, twinMkldnn, threads);
                runTheirs = true;
            }
            var (mine, theirs) = Paired(config with { Warmup = Math.Max(1, config.Warmup), Iters = Math.Max(3, config.Iters), Threads = threads },
                ours ? () =>
                {
                    using var s = torch.NewDisposeScope();
                    using var guard = Performance.Inference();
                    conv.call(x);
                } : null,
                runTheirs ? () => twin!.Step("fwd", "inference_mode") : null, twin, measureMemory: false);
            static double GFlops(Phase p) => 2.0 * macs / (p.MedianMs / 1000.0) / 1e9;
            return (mine is null ? null : new CeilingResult("TorchSharp", shape, macs, mine.MedianMs, GFlops(mine), channelsLast, threads),
                theirs is null ? null : new CeilingResult("PyTorch", shape, macs, theirs.MedianMs, GFlops(theirs), channelsLast, threads, twinMkldnn));
        }
        finally
        {
            torch.set_num_threads(previous);
        }
    }

    /// <summary>Warm-up, then <see cref="BenchConfig.Iters"/> timed steps of ours and theirs, alternating.</summary>
    private static (Phase? Ours, Phase? Theirs) Paired(BenchConfig config, Action? ours, Func<(double Ms, double CpuMs)>? theirs,
        TorchTwin? twin, bool measureMemory = true)
    {
        var both = ours is not null && theirs is not null;
        var start = ours is not null && measureMemory ? ProcessStats.ResetPeak() : 0;
        var twinStart = theirs is not null && measureMemory ? twin!.ResetPeak() : 0;
        for (var i = 0; i < config.Warmup; i++)
        {
            ours?.Invoke();
            if (both) Thread.Sleep(Pause);
            theirs?.Invoke();
            if (both) Thread.Sleep(Pause);
        }
        List<double> ourMs = [], theirMs = [];
        double ourCpu = 0, theirCpu = 0;
        for (var i = 0; i < config.Iters; i++)
        {
            if (ours is not null)
            {
                var cpu0 = ProcessStats.CpuTime();
                var t0 = Stopwatch.GetTimestamp();
                ours();
                ourMs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                ourCpu += (ProcessStats.CpuTime() - cpu0).TotalMilliseconds;
            }
            if (both) Thread.Sleep(Pause);
            if (theirs is not null)
            {
                var (ms, cpuMs) = theirs();
                theirMs.Add(ms);
                theirCpu += cpuMs;
            }
            if (both) Thread.Sleep(Pause);
        }
        var threads = Math.Max(1, config.Threads);
        var mine = ours is null ? null : new Phase(Median(ourMs), ourMs, measureMemory ? ProcessStats.PeakDeltaMb(start) : double.NaN,
            100.0 * ourCpu / (ourMs.Sum() * threads));
        var their = theirs is null ? null : new Phase(Median(theirMs), theirMs, measureMemory ? twin!.PeakMb(twinStart) : double.NaN,
            100.0 * theirCpu / (theirMs.Sum() * threads));
        return (mine, their);
    }

    private static bool ParametersFinite(nn.Module model)
    {
        using var noGrad = torch.no_grad();
        foreach (var p in model.parameters())
        {
            using var ok = torch.isfinite(p).all();
            if (!ok.item<bool>()) return false;
        }
        return true;
    }

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
