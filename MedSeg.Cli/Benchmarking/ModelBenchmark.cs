using System.Globalization;

namespace MedSeg.Cli.Benchmarking;

/// <summary>Batch, square input size, untimed warm-up repetitions and timed iterations (medians are reported).</summary>
public sealed record BenchConfig(int Batch, int Size, int Warmup, int Iters, int Threads, int InChannels = 3, int Classes = 1);

/// <summary>One timed phase: median and every iteration in ms, peak resident growth (MiB) and the share of
/// <c>threads</c> cores the process kept busy (below ~90 % means something else competed for the CPU).</summary>
public sealed record Phase(double MedianMs, IReadOnlyList<double> Ms, double PeakMb, double CpuPercent);

/// <summary>Memory format of a contestant. <see cref="ChannelsLastInput"/>: the input batch is channels-last (so every
/// activation, and the convolutions, run NHWC) while weights, gradients and optimizer state stay contiguous NCHW, which
/// is what TorchSharp 0.107 can checkpoint; <see cref="ChannelsLastAll"/>: the conv weights too (PyTorch's
/// <c>model.to(memory_format=torch.channels_last)</c>), which TorchSharp's <c>Module.save</c> and
/// <c>Optimizer.save_state_dict</c> refuse ("Bytes() called on non-contiguous tensor").</summary>
public enum MemoryLayout
{
    Nchw,
    ChannelsLastInput,
    ChannelsLastAll,
}

public static class MemoryLayouts
{
    public static string Label(this MemoryLayout layout) => layout switch
    {
        MemoryLayout.Nchw => "NCHW",
        MemoryLayout.ChannelsLastInput => "CL input",
        _ => "CL input+weights",
    };

    /// <summary>NCHW, or channels-last of either kind (what PyTorch's single channels-last setting is compared with).</summary>
    public static bool IsChannelsLast(this MemoryLayout layout) => layout != MemoryLayout.Nchw;
}

/// <summary>
/// One model in one setting, measured by us (engine "TorchSharp") or by the PyTorch script (engine "PyTorch").
/// <see cref="Forward"/> is eval + inference_mode (or no_grad when the setting says so), <see cref="ForwardNoGrad"/>
/// an extra no_grad forward where the inference-mode lever was A/B-tested, <see cref="Train"/> one optimizer step.
/// </summary>
public sealed record Measurement(
    string Engine, string Model, string Variant, long Parameters, long Macs, MemoryLayout Layout, string ForwardMode,
    Phase? Forward, Phase? ForwardNoGrad, Phase? Train, bool Finite, string? Note, bool? Mkldnn = null)
{
    public bool ChannelsLast => Layout.IsChannelsLast();
}

/// <summary>Conv ceiling: one big 3×3 convolution forward, the best GFLOP/s a model's convolutions could reach.</summary>
public sealed record CeilingResult(string Engine, string Shape, long Macs, double Ms, double GFlops, MemoryLayout Layout, int Threads, bool? Mkldnn = null)
{
    public bool ChannelsLast => Layout.IsChannelsLast();
}

/// <summary>
/// Times contestants (our models, their PyTorch twins, the ceiling conv) against each other on one machine:
/// <list type="number">
/// <item>a memory and warm-up pass, one contestant at a time: peak RSS growth from before the model is built through
/// its warm-up forward passes (the forward's peak), then with gradients and AdamW state primed through its warm-up
/// train steps (the train step's peak);</item>
/// <item>timed rounds: each round runs one step of every contestant in turn (forward rounds, where the contestants of
/// the inference-mode A/B also run a no_grad forward right after their inference_mode one; then train rounds), with a
/// short pause between steps so that idle OpenMP threads of one side do not spin into the next one's time.</item>
/// </list>
/// Interleaving matters on a shared machine: every contestant sees the same background load, so ratios between them
/// hold even when absolute times drift. Medians over the rounds are reported.
/// </summary>
public static class ModelBenchmark
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs a match; returns one measurement per contestant (phases null where it could not be built, with
    /// its note). <paramref name="abNoGrad"/> says which contestants also time a no_grad forward.</summary>
    public static List<(IContestant Contestant, Measurement Result)> Run(string title, IReadOnlyList<IContestant> contestants,
        BenchConfig config, Func<IContestant, bool> abNoGrad, Action<string>? log)
    {
        var warmup = Math.Max(1, config.Warmup);
        var built = new List<(IContestant C, ContestantSize Size)>();
        var peaks = new Dictionary<IContestant, (double Fwd, double Train)>();
        var results = new List<(IContestant, Measurement)>();
        foreach (var c in contestants)
        {
            log?.Invoke($"{title}: warm-up and memory, {Label(c)}");
            var start = c.ResetPeak();
            var size = c.Build();
            if (size is null)
            {
                log?.Invoke($"{title}: {Label(c)}: {c.Note}");
                results.Add((c, new Measurement(c.Engine, c.Model, "-", 0, 0, c.Layout, "inference_mode", null, null, null, true, c.Note, c.Mkldnn)));
                continue;
            }
            for (var i = 0; i < warmup; i++) c.Forward(true);
            if (abNoGrad(c)) for (var i = 0; i < warmup; i++) c.Forward(false);
            var fwdPeak = c.PeakMb(start);
            var trainPeak = double.NaN;
            if (c.CanTrain)
            {
                c.PrimeOptimizer();
                for (var i = 0; i < warmup; i++) c.Train();
                trainPeak = c.PeakMb(start);
            }
            peaks[c] = (fwdPeak, trainPeak);
            built.Add((c, size));
        }

        // A "lane" is one contestant in one mode; every round runs one step of every lane in turn.
        Dictionary<(IContestant C, bool Alt), Phase> Rounds(string what, IReadOnlyList<(IContestant C, bool Alt)> lanes,
            Func<IContestant, bool, (double Ms, double CpuMs)> step, Func<IContestant, double> peak)
        {
            if (lanes.Count == 0) return [];
            var ms = lanes.ToDictionary(l => l, _ => new List<double>());
            var cpu = lanes.ToDictionary(l => l, _ => 0.0);
            string Name((IContestant C, bool Alt) l) => Label(l.C) + (l.Alt ? " no_grad" : "");
            log?.Invoke($"{title}: {what}, {config.Iters} round(s) of {string.Join(" / ", lanes.Select(Name))}");
            for (var i = 0; i < config.Iters; i++)
            {
                foreach (var lane in lanes)
                {
                    var (stepMs, stepCpu) = step(lane.C, lane.Alt);
                    ms[lane].Add(stepMs);
                    cpu[lane] += stepCpu;
                    if (lanes.Count > 1) Thread.Sleep(Pause);
                }
            }
            var phases = lanes.ToDictionary(l => l, l => new Phase(Median(ms[l]), ms[l], peak(l.C), 100.0 * cpu[l] / (ms[l].Sum() * Math.Max(1, l.C.Threads))));
            log?.Invoke($"{title}: {what}: " + string.Join(", ", lanes.Select(l => $"{Name(l)} {phases[l].MedianMs.ToString("F0", CultureInfo.InvariantCulture)} ms")));
            return phases;
        }

        var all = built.Select(b => b.C).ToList();
        // Forward rounds: inference_mode for everyone, and no_grad right after it for the A/B contestants, so that the
        // two modes of one model are timed under the same load too.
        var fwdLanes = all.SelectMany(c => abNoGrad(c) ? new[] { (c, false), (c, true) } : new[] { (c, false) }).ToList();
        var fwd = Rounds("forward (inference_mode; no_grad for the A/B)", fwdLanes, (c, noGradMode) => c.Forward(!noGradMode), c => peaks[c].Fwd);
        var train = Rounds("train step", all.Where(c => c.CanTrain).Select(c => (c, false)).ToList(), (c, _) => c.Train(), c => peaks[c].Train);

        foreach (var (c, size) in built)
        {
            var finite = c.Finite();
            results.Add((c, new Measurement(c.Engine, c.Model, size.Variant, size.Parameters, size.Macs, c.Layout, "inference_mode",
                fwd.GetValueOrDefault((c, false)), fwd.GetValueOrDefault((c, true)), train.GetValueOrDefault((c, false)), finite,
                finite ? null : "non-finite loss or weights", c.Mkldnn)));
        }
        return results;
    }

    public static string Label(IContestant c) =>
        $"{c.Engine} {c.Layout.Label()}{(c.Mkldnn is { } m ? m ? " oneDNN on" : " oneDNN off" : "")}{(c.Threads != 0 ? $" {c.Threads}t" : "")}";

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
