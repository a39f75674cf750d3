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
        new("channels-last", "Memory format of the main table: on (channels-last) or off (NCHW)", "on", ValueName: "on|off"),
        new("levers", "Also A/B-test the levers (layout, inference_mode, threads) on models with a PyTorch twin", "on", ValueName: "on|off"),
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
        var channelsLast = OnOff(options, "channels-last", true);
        var levers = OnOff(options, "levers", true);
        var python = options.Get("torch") ?? "/usr/bin/python3";
        var markdown = options.Get("markdown");
        void Log(string message) => error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

        Performance.SetThreads(config.Threads);
        var anomalyWasOn = Performance.AnomalyDetectionEnabled;
        Performance.DisableAnomalyDetection();
        var report = new BenchReport(config, DateTimeOffset.Now, channelsLast, anomalyWasOn) { LoadAtStart = ProcessStats.LoadAverage() };

        var twins = models.Where(TorchTwin.Twins.Contains).ToList();
        using var twin = StartTwin(python, config, twins.Count > 0, report.Notes, Log);
        report.Torch = twin?.Info;
        if (twin is not null) Log($"PyTorch {twin.Info.TorchVersion} started; our steps and PyTorch's alternate");

        Log($"conv ceiling, TorchSharp with {torch.get_num_threads()} threads");
        foreach (var cl in new[] { false, true })
            AddCeiling(report, ModelBenchmark.ConvCeiling(config, cl, config.Threads, twin));
        if (twin is not null)
        {
            foreach (var cl in new[] { false, true })
                AddCeiling(report, ModelBenchmark.ConvCeiling(config, cl, config.Threads, twin, twinMkldnn: false, ours: false));
        }
        if (levers && config.Threads != 1) AddCeiling(report, ModelBenchmark.ConvCeiling(config, true, 1, twin));

        foreach (var name in models)
        {
            var twinHere = TorchTwin.Twins.Contains(name) ? twin : null;
            var abTest = levers && twinHere is not null;
            var (ours, theirs) = ModelBenchmark.Run(name, config, channelsLast, abTest, twinHere, log: Log);
            AddModel(report, ours, theirs, lever: false, Log);
            if (abTest)
            {
                // The layout lever: the other memory format, on both sides.
                var (oursOther, theirsOther) = ModelBenchmark.Run(name, config, !channelsLast, false, twinHere, ours: ours?.Train is not null, log: Log);
                AddModel(report, oursOther, theirsOther, lever: true, Log);
            }
            if (twinHere is not null && (theirs?.Finite == false || TorchWithoutOneDnn.Contains(name)))
            {
                // PyTorch with oneDNN off: the fallback when oneDNN's training goes non-finite, and always for UNeXt,
                // whose depthwise-conv backward in Debian's oneDNN 2.6 turns NaN after some dozens of real-data steps.
                var (_, plain) = ModelBenchmark.Run(name, config, channelsLast, false, twinHere, twinMkldnn: false, ours: false, log: Log);
                AddModel(report, null, plain, lever: true, Log);
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

    private static TorchTwin? StartTwin(string python, BenchConfig config, bool wanted, List<string> notes, Action<string> log)
    {
        if (string.Equals(python, "none", StringComparison.OrdinalIgnoreCase))
        {
            notes.Add("PyTorch baseline skipped (--torch none).");
            return null;
        }
        if (!wanted) return null;
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

    private static void AddCeiling(BenchReport report, (CeilingResult? Ours, CeilingResult? Theirs) result)
    {
        if (result.Ours is not null) report.Ceilings.Add(result.Ours);
        if (result.Theirs is not null) report.Ceilings.Add(result.Theirs);
    }

    private static void AddModel(BenchReport report, Measurement? ours, Measurement? theirs, bool lever, Action<string> log)
    {
        if (ours is not null)
        {
            (lever ? report.OursLevers : report.Ours).Add(ours);
            if (ours.Note is not null) log($"{ours.Model}: {ours.Note}");
        }
        if (theirs is not null)
        {
            report.Torch?.Models.Add(theirs);
            if (theirs.Note is not null)
            {
                log($"PyTorch {theirs.Model}: {theirs.Note}");
                report.Notes.Add($"PyTorch {theirs.Model} ({theirs.Layout}, oneDNN {(theirs.Mkldnn == true ? "on" : "off")}): {theirs.Note}");
            }
        }
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

    private static bool OnOff(ParsedOptions options, string name, bool defaultValue) =>
        options.Get(name)?.ToLowerInvariant() switch
        {
            null => defaultValue,
            "on" or "true" or "yes" or "1" => true,
            "off" or "false" or "no" or "0" => false,
            var other => throw new UsageException($"--{name} takes on or off; got '{other}'."),
        };

    internal static string F(double value, string format) =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";
}
