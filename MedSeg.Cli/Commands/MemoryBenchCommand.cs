using System.Diagnostics;
using System.Globalization;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;
using MedSeg.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg bench-memory</c>: measures the peak resident memory of training steps of every model (and variant) at
/// several image sizes, each in a fresh process, and fits the coefficients of <see cref="MemoryEstimate"/>'s table
/// (printed as C# rows to paste there). This is how the admission table was measured.</summary>
public sealed class MemoryBenchCommand : ICommand
{
    public string Name => "bench-memory";

    public string Summary => "Measure peak training memory per model and size (the admission table of MemoryEstimate)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("models", "Comma-separated model names, or all", "all", ValueName: "LIST"),
        new("sizes", "Three comma-separated image sizes", "128,256,384", ValueName: "LIST"),
        new("batch", "Batch size of the measured steps", "2"),
        new("all-variants", "Measure every variant, not only the default", IsFlag: true),
        new("one", "(internal) measure MODEL[:VARIANT] at --size in this process and print the peak", ValueName: "MODEL"),
        new("size", "(internal) image size for --one", "128"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var batch = options.GetInt("batch", 2, max: 64);
        if (options.Get("one") is { } one) return MeasureOne(one, options.GetInt("size", 128, min: 16, max: 4096), batch, output);

        var sizes = (options.Get("sizes") ?? "128,256,384").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        if (sizes.Length != 3) throw new UsageException("--sizes takes three sizes (the fit has three coefficients).");
        var names = options.Get("models") is { } list && list != "all" ? list.Split(',') : [.. ModelRegistry.Names];
        var dll = typeof(MemoryBenchCommand).Assembly.Location;
        output.WriteLine($"# peak resident memory of 2 AdamW training steps, batch {batch}, sizes {string.Join('/', sizes)}, one process each");
        foreach (var name in names)
        {
            IEnumerable<string?> variants = [null];
            if (options.Has("all-variants"))
            {
                using var probe = ModelRegistry.Create(name);
                if (probe is IVariantModel v) variants = v.AvailableVariants;
            }
            foreach (var variant in variants)
            {
                var key = variant is null ? name : $"{name}:{variant}";
                var peaks = new double[3];
                for (var i = 0; i < 3; i++)
                {
                    var info = new ProcessStartInfo(ChildCommands.DotnetHost()) { RedirectStandardOutput = true, UseShellExecute = false };
                    foreach (var a in new[] { "exec", dll, Name, "--one", key, "--size", sizes[i].ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture) })
                        info.ArgumentList.Add(a);
                    using var p = Process.Start(info)!;
                    var text = p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    if (p.ExitCode != 0 || !double.TryParse(text.Trim(), CultureInfo.InvariantCulture, out peaks[i]))
                    {
                        error.WriteLine($"{key} at {sizes[i]}: the measurement failed (exit {p.ExitCode}): {text}");
                        return ExitCodes.Failure;
                    }
                }
                var (fixedBytes, perPixel, perPixelSquared) = Fit(sizes, batch, peaks);
                output.WriteLine(FormattableString.Invariant(
                    $"[\"{key}\"] = new({fixedBytes:0}, {perPixel:0.###}, {perPixelSquared:0.###e0}), // peaks {string.Join(" / ", peaks.Select(x => $"{x / (1 << 20):0} MiB"))}"));
            }
        }
        return ExitCodes.Success;
    }

    /// <summary>peak = fixed + a·(B·S²) + c·(B·S⁴). Convolutional models grow linearly in pixels: the line through the two
    /// larger sizes (c = 0; the smallest size is mostly allocator overhead). Where memory grows clearly faster than linearly
    /// (the second slope over 1.5× the first: SegFormer's attention), the exact fit through all three points.</summary>
    private static (double Fixed, double PerPixel, double PerPixelSquared) Fit(int[] sizes, int batch, double[] peaks)
    {
        double P(int s) => (double)batch * s * s;
        double Q(int s) => (double)batch * s * s * s * s;
        var first = (peaks[1] - peaks[0]) / (P(sizes[1]) - P(sizes[0]));
        var second = Math.Max(0, (peaks[2] - peaks[1]) / (P(sizes[2]) - P(sizes[1])));
        if (first > 0 && second > 1.5 * first)
        {
            double[,] m = { { 1, P(sizes[0]), Q(sizes[0]) }, { 1, P(sizes[1]), Q(sizes[1]) }, { 1, P(sizes[2]), Q(sizes[2]) } };
            var x = Solve(m, peaks);
            if (x[1] >= 0 && x[2] >= 0) return (x[0], x[1], x[2]);
        }
        return (peaks[2] - second * P(sizes[2]), second, 0);
    }

    private static double[] Solve(double[,] a, double[] b)
    {
        var n = b.Length;
        var m = (double[,])a.Clone();
        var y = (double[])b.Clone();
        for (var c = 0; c < n; c++)
        {
            var pivot = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(m[r, c]));
            for (var k = 0; k < n; k++) (m[c, k], m[pivot, k]) = (m[pivot, k], m[c, k]);
            (y[c], y[pivot]) = (y[pivot], y[c]);
            for (var r = c + 1; r < n; r++)
            {
                var f = m[r, c] / m[c, c];
                for (var k = c; k < n; k++) m[r, k] -= f * m[c, k];
                y[r] -= f * y[c];
            }
        }
        var x = new double[n];
        for (var r = n - 1; r >= 0; r--)
        {
            var s = y[r];
            for (var k = r + 1; k < n; k++) s -= m[r, k] * x[k];
            x[r] = s / m[r, r];
        }
        return x;
    }

    /// <summary>Two AdamW steps of bce+dice on random data, channels-last batches as the trainer runs them; prints VmHWM.</summary>
    private static int MeasureOne(string key, int size, int batch, TextWriter output)
    {
        var parts = key.Split(':', 2);
        torch.set_num_threads(2);
        using var model = ModelRegistry.Create(parts[0], new ModelOptions(Variant: parts.Length > 1 ? parts[1] : null));
        model.train();
        if (model.TrainsChannelsLastWeights) Performance.ToChannelsLast(model);
        using var optimizer = Optimizers.Create("adamw", model.parameters(), 1e-3, 1e-4);
        using var loss = Engine.Losses.LossFactory.Create(TrainingPlan.DefaultBinaryLoss, Engine.Losses.LossMode.Binary, 1);
        using var half = 0.5.ToScalar();
        for (var step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            var x = Performance.ToChannelsLast(randn(batch, 3, size, size));
            var y = rand(batch, 1, size, size).ge(half).to_type(ScalarType.Float32);
            var l = loss.call(model.call(x), y);
            optimizer.zero_grad();
            l.backward();
            optimizer.step();
        }
        var status = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kib = long.Parse(status.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        output.WriteLine((kib * 1024).ToString(CultureInfo.InvariantCulture));
        return ExitCodes.Success;
    }
}
