using System.Diagnostics;
using System.Globalization;
using MedSeg.Engine;
using TorchSharp;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using static TorchSharp.torch;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg bench-inference</c>: forward latency of one model (random weights, BatchNorm statistics randomised so
/// that folding is not a no-op) with each inference lever on its own and all together. Median over --iters timed calls
/// after a warm-up; every row also reports its largest difference from the baseline's logits.</summary>
public sealed class InferenceBenchCommand : ICommand
{
    public string Name => "bench-inference";

    public string Summary => "Inference latency per speed lever (BN folding, channels-last, inference mode, threads)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("model", "Model name (the lever breakdown is for unext; other models get eager vs folded)", "unext", ValueName: "NAME"),
        new("size", "Input height and width", "256"),
        new("batch", "Batch size", "1"),
        new("iters", "Timed calls per row (at least 50 for the documented figures)", "100"),
        new("warmup", "Untimed calls before each row", "10"),
        new("threads", "torch intra-op threads", "2"),
        new("in", "Input channels", "3"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var name = options.Get("model") ?? "unext";
        var size = options.GetInt("size", 256, min: 32, max: 4096);
        var batch = options.GetInt("batch", 1, max: 256);
        var iters = options.GetInt("iters", 100, max: 100_000);
        var warmup = options.GetInt("warmup", 10, min: 0, max: 10_000);
        var threads = options.GetInt("threads", 2, max: 256);
        var inChannels = options.GetInt("in", 3, max: 64);
        if (!ModelRegistry.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
            throw new UsageException($"--model: unknown model '{name}'. Models: {string.Join(", ", ModelRegistry.Names)}.");

        set_num_threads(threads);
        manual_seed(1);
        var modelOptions = new ModelOptions(inChannels, 1);
        using var eager = ModelRegistry.Create(name, modelOptions);
        if (size % eager.SizeMultiple != 0)
            throw new UsageException($"--size must be a multiple of {eager.SizeMultiple} for {name}; got {size}.");
        RandomiseBatchNorm(eager);
        eager.eval();
        using var input = randn(batch, inChannels, size, size);
        Tensor reference;
        using (no_grad()) reference = eager.call(input).DetachFromDisposeScope();

        var rows = new List<(string Lever, double Median, double P90, double MaxDiff)>();
        void Row(string lever, Func<Tensor> forward, bool inference = true, int? rowThreads = null)
        {
            set_num_threads(rowThreads ?? threads);
            var (median, p90, diff) = Measure(forward, reference, inference, warmup, iters);
            rows.Add((lever, median, p90, diff));
            output.WriteLine(FormattableString.Invariant($"  {lever}: {median:F2} ms"));
        }

        output.WriteLine(FormattableString.Invariant($"{name} {batch}×{inChannels}×{size}×{size}, {threads} thread(s), {iters} timed calls after {warmup} warm-up calls"));
        Row("baseline: eager module, eval + no_grad", () => eager.call(input), inference: false);
        Row("eager + inference_mode", () => eager.call(input));
        if (eager is Engine.Models.UNeXt.UNeXt unext)
        {
            using var none = new UNeXtFastPath(unext, FastPathLevers.None);
            Row("fast path, no levers (functional, inference_mode)", () => none.Forward(input));
            using var fold = new UNeXtFastPath(unext, FastPathLevers.None with { FoldBatchNorm = true });
            Row("  + BatchNorm folding", () => fold.Forward(input));
            using var cl = new UNeXtFastPath(unext, FastPathLevers.None with { ChannelsLast = true });
            Row("  + channels-last", () => cl.Forward(input));
            using var slice = new UNeXtFastPath(unext, FastPathLevers.None with { SliceShift = true });
            Row("  + slice shift", () => slice.Forward(input));
            using var inPlace = new UNeXtFastPath(unext, FastPathLevers.None with { InPlace = true });
            Row("  + in-place ReLU/GELU/add", () => inPlace.Forward(input));
            using var all = new UNeXtFastPath(unext);
            if (threads != 1) Row("all levers, 1 thread", () => all.Forward(input), rowThreads: 1);
            Row("all levers (the Predictor's path)", () => all.Forward(input));
        }
        else
        {
            using var folded = ModelRegistry.Create(name, modelOptions);
            folded.load_state_dict(eager.state_dict());
            BatchNormFolding.Fold(folded);
            Row("eager + BatchNorm folded (BN kept as identity)", () => folded.call(input));
        }
        set_num_threads(threads);

        output.WriteLine();
        var header = new[] { "lever", "median ms", "p90 ms", "vs baseline", "max |Δ logits|" };
        var table = rows.Select(r => new[]
        {
            r.Lever, F2(r.Median), F2(r.P90), (rows[0].Median / r.Median).ToString("F2", CultureInfo.InvariantCulture) + "×",
            r.MaxDiff.ToString("0.0e+0", CultureInfo.InvariantCulture),
        }).Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => table.Max(r => r[c].Length)).ToArray();
        foreach (var (r, i) in table.Select((r, i) => (r, i)))
        {
            output.WriteLine(string.Join("  ", r.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))));
            if (i == 0) output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
        reference.Dispose();
        return ExitCodes.Success;
    }

    private static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static (double Median, double P90, double MaxDiff) Measure(Func<Tensor> forward, Tensor reference, bool inference, int warmup, int iters)
    {
        double diff;
        using (inference ? inference_mode() : no_grad())
        {
            using (var scope = NewDisposeScope()) diff = (forward() - reference).abs().max().item<float>();
            for (var i = 0; i < warmup; i++)
            {
                using var scope = NewDisposeScope();
                forward();
            }
            var times = new double[iters];
            for (var i = 0; i < iters; i++)
            {
                using var scope = NewDisposeScope();
                var start = Stopwatch.GetTimestamp();
                forward();
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            Array.Sort(times);
            var median = iters % 2 == 1 ? times[iters / 2] : (times[iters / 2 - 1] + times[iters / 2]) / 2;
            return (median, times[(int)Math.Min(iters - 1, Math.Ceiling(0.9 * iters) - 1)], diff);
        }
    }

    /// <summary>Non-trivial running statistics and affine parameters, as a trained model has.</summary>
    private static void RandomiseBatchNorm(nn.Module model)
    {
        using var _ = no_grad();
        using var tenth = 0.1.ToScalar();
        using var half = 0.5.ToScalar();
        foreach (var (_, m) in model.named_modules())
            if (m is TorchSharp.Modules.BatchNorm2d bn)
            {
                bn.running_mean!.copy_(randn_like(bn.running_mean) * tenth);
                bn.running_var!.copy_(rand_like(bn.running_var).Plus(half));
                bn.weight?.copy_(rand_like(bn.weight).Plus(half));
                bn.bias?.copy_(randn_like(bn.bias) * tenth);
            }
    }
}
