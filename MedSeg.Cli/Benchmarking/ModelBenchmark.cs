using System.Globalization;

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
/// Times contestants (our models, their PyTorch twins, the ceiling conv) against each other on one machine:
/// <list type="number">
/// <item>a memory and warm-up pass, one contestant at a time: peak RSS growth from before the model is built through
/// its warm-up forward passes (the forward's peak), then with gradients and AdamW state primed through its warm-up
/// train steps (the train step's peak);</item>
/// <item>timed rounds: each round runs one step of every contestant in turn (forward rounds, then no_grad rounds for
/// the inference-mode A/B, then train rounds), with a short pause between steps so that idle OpenMP threads of one
/// side do not spin into the next one's time.</item>
/// </list>
/// Interleaving matters on a shared machine: every contestant sees the same background load, so ratios between them
/// hold even when absolute times drift. Medians over the rounds are reported.
/// </summary>
public static class ModelBenchmark
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs a match; returns one measurement per contestant (phases null where it could not be built, with
    /// its note). <paramref name="abNoGrad"/> says which contestants also get no_grad forward rounds.</summary>
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
                results.Add((c, new Measurement(c.Engine, c.Model, "-", 0, 0, c.ChannelsLast, "inference_mode", null, null, null, true, c.Note, c.Mkldnn)));
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
        var many = built.Count > 1;

        Dictionary<IContestant, Phase> Rounds(string what, IReadOnlyList<IContestant> who, Func<IContestant, (double Ms, double CpuMs)> step, Func<IContestant, double> peak)
        {
            var ms = who.ToDictionary(c => c, _ => new List<double>());
            var cpu = who.ToDictionary(c => c, _ => 0.0);
            if (who.Count == 0) return [];
            log?.Invoke($"{title}: {what}, {config.Iters} round(s) of {string.Join(" / ", who.Select(Label))}");
            for (var i = 0; i < config.Iters; i++)
            {
                foreach (var c in who)
                {
                    var (stepMs, stepCpu) = step(c);
                    ms[c].Add(stepMs);
                    cpu[c] += stepCpu;
                    if (many) Thread.Sleep(Pause);
                }
            }
            var phases = who.ToDictionary(c => c, c => new Phase(Median(ms[c]), ms[c], peak(c), 100.0 * cpu[c] / (ms[c].Sum() * Math.Max(1, c.Threads))));
            log?.Invoke($"{title}: {what}: " + string.Join(", ", who.Select(c => $"{Label(c)} {phases[c].MedianMs.ToString("F0", CultureInfo.InvariantCulture)} ms")));
            return phases;
        }

        var all = built.Select(b => b.C).ToList();
        var fwd = Rounds("forward (inference_mode)", all, c => c.Forward(true), c => peaks[c].Fwd);
        var noGrad = Rounds("forward (no_grad)", all.Where(abNoGrad).ToList(), c => c.Forward(false), c => peaks[c].Fwd);
        var train = Rounds("train step", all.Where(c => c.CanTrain).ToList(), c => c.Train(), c => peaks[c].Train);

        foreach (var (c, size) in built)
        {
            var finite = c.Finite();
            results.Add((c, new Measurement(c.Engine, c.Model, size.Variant, size.Parameters, size.Macs, c.ChannelsLast, "inference_mode",
                fwd.GetValueOrDefault(c), noGrad.GetValueOrDefault(c), train.GetValueOrDefault(c), finite,
                finite ? null : "non-finite loss or weights", c.Mkldnn)));
        }
        return results;
    }

    public static string Label(IContestant c) =>
        $"{c.Engine} {(c.ChannelsLast ? "channels-last" : "NCHW")}{(c.Mkldnn is { } m ? m ? " oneDNN on" : " oneDNN off" : "")}{(c.Threads != 0 ? $" {c.Threads}t" : "")}";

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
