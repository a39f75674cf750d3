using System.Globalization;
using MedSeg.Cli.Benchmarking;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using TorchSharp;

namespace MedSeg.Cli.Commands;

/// <summary>
/// <c>medseg bench</c>: CPU speed of every registered model (forward, train step, peak memory, achieved GFLOP/s),
/// the PyTorch twins of UNeXt and U-Net run by Debian's python3-torch in a subprocess on the same machine, the
/// ours/PyTorch ratio, a conv ceiling on both sides, and A/B runs of the speed levers in
/// <see cref="Performance"/>. See docs/benchmarks.md.
/// </summary>
public sealed class BenchCommand : ICommand
{
    public string Name => "bench";

    public string Summary => "Time forward and train step of the zoo on CPU, against PyTorch twins of UNeXt and U-Net";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("models", "Comma-separated model names", "all registered", ValueName: "a,b"),
        new("batch", "Batch size", "8"),
        new("size", "Input height and width in pixels", "256"),
        new("iters", "Timed iterations per phase (the median is reported)", "3"),
        new("warmup", "Untimed iterations before each phase", "1"),
        new("threads", "Torch intra-op threads, the same for TorchSharp and PyTorch", "2"),
        new("torch", "Python with PyTorch for the baseline, or 'none' to skip it", "/usr/bin/python3", ValueName: "PYTHON"),
        new("markdown", "Also write the results to this Markdown file (between bench markers when present)", ValueName: "FILE"),
        new("layout", "Memory format of our models in the main table: nchw, cl-input (channels-last batch, NCHW weights) or cl-all (weights too)", "cl-input", ValueName: "nchw|cl-input|cl-all"),
        new("levers", "A/B-test the levers (the other memory formats, no_grad forward, 1 thread) on: twins (models with a PyTorch twin), all, or off", "twins", ValueName: "twins|all|off"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var config = new BenchConfig(
            Batch: options.GetInt("batch", 8, max: 1024),
            Size: options.GetInt("size", 256, min: 16, max: 4096),
            Warmup: options.GetInt("warmup", 1, min: 0, max: 1000),
            Iters: options.GetInt("iters", 3, max: 1000),
            Threads: options.GetInt("threads", 2, max: 1024));
        var models = ParseModels(options.Get("models"));
        var layout = options.Get("layout")?.ToLowerInvariant() switch
        {
            null or "cl-input" => MemoryLayout.ChannelsLastInput,
            "cl-all" => MemoryLayout.ChannelsLastAll,
            "nchw" => MemoryLayout.Nchw,
            var other => throw new UsageException($"--layout takes nchw, cl-input or cl-all; got '{other}'."),
        };
        var channelsLast = layout.IsChannelsLast();
        var levers = options.Get("levers")?.ToLowerInvariant() switch
        {
            null or "twins" or "on" => LeverScope.Twins,
            "all" => LeverScope.All,
            "off" => LeverScope.Off,
            var other => throw new UsageException($"--levers takes twins, all or off; got '{other}'."),
        };
        var python = options.Get("torch") ?? "/usr/bin/python3";
        var markdown = options.Get("markdown");
        void Log(string message) => error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

        Performance.SetThreads(config.Threads);
        var anomalyWasOn = Performance.AnomalyDetectionEnabled;
        Performance.DisableAnomalyDetection();
        var report = new BenchReport(config, DateTimeOffset.Now, layout, anomalyWasOn) { LoadAtStart = ProcessStats.LoadAverage() };

        var twins = models.Where(TorchTwin.Twins.Contains).ToList();
        using var twin = StartTwin(python, config, report.Notes, Log);
        report.Torch = twin?.Info;
        if (twin is not null) Log($"PyTorch {twin.Info.TorchVersion} started; our steps and PyTorch's alternate");

        var ids = 0;
        // Conv ceiling: both layouts on both sides, PyTorch also without oneDNN, and one thread (the threads lever).
        var ceiling = new List<IContestant>
        {
            new OursCeiling(MemoryLayout.Nchw, config.Threads),
            new OursCeiling(MemoryLayout.ChannelsLastInput, config.Threads),
            new OursCeiling(MemoryLayout.ChannelsLastAll, config.Threads),
        };
        if (twin is not null)
        {
            foreach (var (cl, mkldnn) in new[] { (false, true), (true, true), (false, false), (true, false) })
                ceiling.Add(new TwinContestant(twin, ++ids, "ceiling", cl, mkldnn, config.Threads));
        }
        if (levers != LeverScope.Off && config.Threads != 1)
        {
            ceiling.Add(new OursCeiling(MemoryLayout.ChannelsLastAll, threads: 1));
            if (twin is not null) ceiling.Add(new TwinContestant(twin, ++ids, "ceiling", true, true, 1));
        }
        var ceilingConfig = config with { Warmup = Math.Max(1, config.Warmup), Iters = Math.Max(3, config.Iters) };
        foreach (var (c, m) in ModelBenchmark.Run("conv ceiling", ceiling, ceilingConfig, _ => false, Log))
        {
            if (m.Forward is not null)
                report.Ceilings.Add(new CeilingResult(c.Engine, OursCeiling.Shape, OursCeiling.Macs, m.Forward.MedianMs,
                    2.0 * OursCeiling.Macs / (m.Forward.MedianMs / 1000.0) / 1e9, c.Layout, c.Threads, c.Mkldnn));
            c.Dispose();
        }

        foreach (var name in models)
        {
            var twinHere = TorchTwin.Twins.Contains(name) ? twin : null;
            var abTest = levers == LeverScope.All || (levers == LeverScope.Twins && twinHere is not null);
            var contestants = new List<IContestant> { new OursModel(name, config, layout, config.Threads) };
            if (abTest)
            {
                foreach (var other in Enum.GetValues<MemoryLayout>().Where(l => l != layout))
                    contestants.Add(new OursModel(name, config, other, config.Threads));
            }
            if (twinHere is not null)
            {
                contestants.Add(new TwinContestant(twinHere, ++ids, name, channelsLast, true, config.Threads));
                if (abTest) contestants.Add(new TwinContestant(twinHere, ++ids, name, !channelsLast, true, config.Threads));
                // UNeXt's depthwise-conv backward in Debian's oneDNN 2.6 turns NaN after some dozens of real-data
                // steps, so PyTorch UNeXt training is also measured the way it has to be run: oneDNN off.
                if (TorchWithoutOneDnn.Contains(name)) contestants.Add(new TwinContestant(twinHere, ++ids, name, channelsLast, false, config.Threads));
            }
            var results = ModelBenchmark.Run(name, contestants, config,
                c => abTest && c.Layout.IsChannelsLast() == channelsLast && (c.Engine == "PyTorch" || c.Layout == layout) && c.Mkldnn != false, Log);
            foreach (var (c, m) in results) AddModel(report, m, isMain: c == contestants[0]);

            // oneDNN gave non-finite values and no oneDNN-off run exists for that layout: measure PyTorch without it.
            var retry = results.Where(r => r.Result.Engine == "PyTorch" && r.Result.Mkldnn == true && !r.Result.Finite)
                .Where(r => !results.Any(o => o.Result.Engine == "PyTorch" && o.Result.Mkldnn == false && o.Result.ChannelsLast == r.Result.ChannelsLast))
                .Select(r => (IContestant)new TwinContestant(twinHere!, ++ids, name, r.Result.ChannelsLast, false, config.Threads)).ToList();
            foreach (var c in contestants) c.Dispose();
            if (retry.Count > 0)
            {
                foreach (var (_, m) in ModelBenchmark.Run(name + " (PyTorch, oneDNN off)", retry, config, _ => false, Log)) AddModel(report, m, isMain: false);
                foreach (var c in retry) c.Dispose();
            }
        }
        if (twin is null && twins.Count > 0) report.Notes.Add("No PyTorch ratios: the PyTorch baseline did not run (see above).");

        report.Finished = DateTimeOffset.Now;
        report.LoadAtEnd = ProcessStats.LoadAverage();
        report.WriteText(output);
        if (markdown is not null)
        {
            report.WriteMarkdown(markdown);
            Log($"wrote {markdown}");
        }
        var failed = report.Ours.Concat(report.OursLevers).Any(m => !m.Finite);
        return failed ? ExitCodes.Failure : ExitCodes.Success;
    }

    /// <summary>Twins that are also measured with oneDNN off on the PyTorch side.</summary>
    private static readonly IReadOnlySet<string> TorchWithoutOneDnn = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "unext" };

    private static TorchTwin? StartTwin(string python, BenchConfig config, List<string> notes, Action<string> log)
    {
        if (string.Equals(python, "none", StringComparison.OrdinalIgnoreCase))
        {
            notes.Add("PyTorch baseline skipped (--torch none).");
            return null;
        }
        if (TorchTwin.FindScript() is not { } script)
        {
            notes.Add($"PyTorch baseline skipped: {TorchTwin.ScriptRelativePath} not found.");
            return null;
        }
        try
        {
            log($"starting {python} {script} --serve");
            return TorchTwin.Start(python, script, config);
        }
        catch (Exception e) when (e is InvalidOperationException or TorchTwinException)
        {
            notes.Add($"PyTorch baseline skipped: {e.Message} (install Debian's python3-torch, or pass --torch PYTHON).");
            return null;
        }
    }

    private static void AddModel(BenchReport report, Measurement m, bool isMain)
    {
        if (m.Engine == "TorchSharp") (isMain ? report.Ours : report.OursLevers).Add(m);
        else report.Torch?.Models.Add(m);
        if (m.Note is not null && m.Engine == "PyTorch")
            report.Notes.Add($"PyTorch {m.Model} ({m.Layout.Label()}, oneDNN {(m.Mkldnn == true ? "on" : "off")}): {m.Note}");
    }

    /// <summary>Which models get the A/B runs of the levers (other memory format, no_grad forward).</summary>
    private enum LeverScope
    {
        Off,
        Twins,
        All,
    }

    private static List<string> ParseModels(string? text)
    {
        if (text is null) return [.. ModelRegistry.Names];
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => n.ToLowerInvariant()).Distinct().ToList();
        if (names.Count == 0) throw new UsageException("--models needs at least one name.");
        var unknown = names.Where(n => !ModelRegistry.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw new UsageException($"unknown model(s) {string.Join(", ", unknown)}. Registered: {string.Join(", ", ModelRegistry.Names)}.");
        return names;
    }

    internal static string F(double value, string format) =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";
}
