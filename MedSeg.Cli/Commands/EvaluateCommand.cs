using System.Globalization;
using MedSeg.Engine.Data;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Training;

namespace MedSeg.Cli.Commands;

/// <summary>
/// <c>medseg evaluate</c>: predicts every pair of a dataset folder (images/ + masks/, paired and validated by
/// <see cref="DatasetScanner"/>), scores it at the original resolution with <see cref="CaseMetrics"/>, writes one CSV row
/// per case and prints mean/median per metric (<see cref="MetricAccumulator"/>). Empty policy (docs/metrics.md): an
/// undefined value is an empty cell and the <c>note</c> column says why. A multi-class run (K classes) writes one row per
/// case and foreground class (<c>name,class,dice,…</c>, classes 1 … K − 1) and prints the summary per class and over all.
/// </summary>
public sealed class EvaluateCommand : ICommand
{
    private static readonly SegmentationMetric[] Columns =
        [SegmentationMetric.Dice, SegmentationMetric.IoU, SegmentationMetric.Precision, SegmentationMetric.Recall, SegmentationMetric.Hd95, SegmentationMetric.Assd];

    public string Name => "evaluate";

    public string Summary => "Score a run on a labelled dataset folder: per-case CSV and a summary";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        .. InferenceCommandOptions.Common,
        new("data", "Dataset folder with images/ and masks/", ValueName: "DIR"),
        new("out", "Per-case CSV report", ValueName: "FILE"),
        new("spacing", "Pixel spacing in mm for HD95/ASSD: 'y,x' or one value", "1,1", ValueName: "Y,X"),
        new("cases", "all, or the run's own 'validation' or 'training' cases (from RUNDIR/split.json)", "all", ValueName: "SET"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var run = InferenceCommandOptions.RequireDirectory(options, "run");
        var data = InferenceCommandOptions.RequireDirectory(options, "data");
        var report = InferenceCommandOptions.Require(options, "out");
        var spacing = InferenceCommandOptions.ParseSpacing(options.Get("spacing"));
        var inference = InferenceCommandOptions.Parse(options);
        var subset = (options.Get("cases") ?? "all").Trim().ToLowerInvariant();
        if (subset is not ("all" or "validation" or "training"))
            throw new UsageException($"--cases takes all, validation or training; got '{options.Get("cases")}'.");
        try
        {
            var scan = DatasetScanner.Scan(data);
            foreach (var p in scan.Problems) error.WriteLine($"medseg evaluate: skipped {p.File}: {p.Problem}");
            if (scan.Pairs.Count == 0) throw new InvalidDataException($"{data} has no valid image/mask pairs.");
            var pairs = scan.Pairs;
            if (subset != "all")
            {
                var split = RunSplit.Read(run)
                    ?? throw new InvalidDataException($"{Path.Combine(run, RunSplit.FileName)} does not exist (the run predates it); evaluate --cases all.");
                var wanted = (subset == "validation" ? split.Validation : split.Training).ToHashSet(StringComparer.Ordinal);
                pairs = [.. scan.Pairs.Where(p => wanted.Contains(p.Name))];
                var missing = wanted.Count - pairs.Count;
                if (pairs.Count == 0)
                    throw new InvalidDataException($"none of the run's {wanted.Count} {subset} cases is in {data}: is it the dataset the run was trained on?");
                output.WriteLine($"Scoring the run's {subset} cases: {pairs.Count} of {wanted.Count}" +
                                 (missing > 0 ? $" ({missing} not found in {data})." : "."));
            }
            using var predictor = Predictor.Load(run, options.Get("device") ?? "auto", inference);
            var classes = predictor.Classes;
            if (classes > 1 && scan.Classes == 1)
                error.WriteLine($"medseg evaluate: the masks of {data} are binary but the run predicts {classes} classes; they are scored as labels (mask foreground = label 1).");
            else if (classes == 1 && scan.Classes > 1)
                throw new InvalidDataException($"{data} holds label maps ({scan.Classes} classes) but the run is binary; evaluate it with a multi-class run.");
            else if (classes > 1 && scan.Classes > classes)
                throw new InvalidDataException($"{data} holds labels up to {scan.Classes - 1} but the run predicts {classes} classes (0 … {classes - 1}).");
            var accumulator = new MetricAccumulator(new MetricAccumulatorOptions { Spacing = spacing, NumClasses = Math.Max(2, classes) });
            var rows = new List<string> { classes == 1 ? "name,dice,iou,precision,recall,hd95,assd,note" : "name,class,dice,iou,precision,recall,hd95,assd,note" };
            TerminalProgress.Run(output, context =>
            {
                var task = context?.AddTask("evaluating", maxValue: pairs.Count);
                foreach (var chunk in pairs.Chunk(inference.BatchSize))
                {
                    var predictions = predictor.PredictMany(chunk.Select(c => c.ImagePath).ToArray());
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        var (pair, predicted) = (chunk[i], predictions[i]);
                        var truth = classes == 1 ? MaskReader.Read(pair.MaskPath) : MaskReader.ReadLabels(pair.MaskPath);
                        if (truth.Width != predicted.Width || truth.Height != predicted.Height)
                            throw new InvalidDataException($"Case '{pair.Name}': the mask is {truth.Width}×{truth.Height} but the image is {predicted.Width}×{predicted.Height}.");
                        if (classes == 1)
                        {
                            var metrics = CaseMetrics.Compute(predicted.Pixels, truth.Pixels, truth.Height, truth.Width, spacing);
                            accumulator.Update(metrics);
                            rows.Add(Row(pair.Name, metrics));
                            continue;
                        }
                        for (var k = 1; k < classes; k++)
                        {
                            var metrics = CaseMetrics.Compute(OneClass(predicted.Pixels, k), OneClass(truth.Pixels, k), truth.Height, truth.Width, spacing);
                            accumulator.Update(metrics, k, newCase: k == 1);
                            rows.Add(Row(pair.Name, metrics, k));
                        }
                    }
                    task?.Increment(chunk.Length);
                }
            });
            var dir = Path.GetDirectoryName(Path.GetFullPath(report))!;
            Directory.CreateDirectory(dir);
            File.WriteAllLines(report + ".tmp", rows);
            File.Move(report + ".tmp", report, overwrite: true);
            PrintSummary(accumulator.Compute(), classes, output);
            output.WriteLine($"Per-case report: {Path.GetFullPath(report)}");
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"medseg evaluate: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>1 where <paramref name="labels"/> holds class <paramref name="k"/>, else 0.</summary>
    private static byte[] OneClass(byte[] labels, int k)
    {
        var result = new byte[labels.Length];
        for (var i = 0; i < labels.Length; i++) result[i] = labels[i] == k ? (byte)1 : (byte)0;
        return result;
    }

    /// <summary>One CSV row; undefined values are empty cells, and the note names the empty-mask rule that applied.
    /// With <paramref name="classIndex"/> (multi-class runs) the class follows the name.</summary>
    internal static string Row(string name, CaseMetrics metrics, int? classIndex = null)
    {
        var cells = Columns.Select(m => metrics[m]).ToArray();
        var notes = cells.Select(v => v.Reason).Where(r => r != EmptyReason.None).Distinct().ToList();
        var note = notes.Count == 0 ? "" : string.Join("; ", notes.Select(r => r switch
        {
            EmptyReason.BothEmpty => "both masks empty: overlap metrics 1, distances 0",
            EmptyReason.TruthEmpty => "ground truth empty (false alarm): overlap metrics 0, HD95/ASSD undefined",
            EmptyReason.PredictionEmpty => "prediction empty (miss): overlap metrics 0, HD95/ASSD undefined",
            _ => r.ToString(),
        }));
        return string.Join(",", new[] { Csv(name) }
            .Concat(classIndex is int k ? [k.ToString(CultureInfo.InvariantCulture)] : [])
            .Concat(cells.Select(v => v.IsDefined ? v.Value.ToString("R", CultureInfo.InvariantCulture) : ""))
            .Append(Csv(note)));
    }

    private static string Csv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;

    private static void PrintSummary(MetricSummary summary, int classes, TextWriter output)
    {
        output.WriteLine($"{summary.Cases} case(s)");
        if (classes == 1)
        {
            PrintTable(summary.Overall, output);
            return;
        }
        foreach (var k in summary.Classes)
        {
            output.WriteLine($"class {k}");
            PrintTable(summary.PerClass[k], output);
        }
        output.WriteLine($"all foreground classes 1 … {classes - 1} (every (case, class) value pooled)");
        PrintTable(summary.Overall, output);
    }

    private static void PrintTable(IReadOnlyDictionary<SegmentationMetric, MetricAggregate> aggregates, TextWriter output)
    {
        output.WriteLine($"{"metric",-10} {"mean",9} {"median",9} {"included",9} {"excluded",9}  excluded by reason");
        foreach (var m in Columns)
        {
            var a = aggregates[m];
            var reasons = string.Join(", ", a.ExcludedByReason.Select(kv => $"{kv.Key}: {kv.Value}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m,-10} {a.Mean,9:F4} {a.Median,9:F4} {a.Included,9} {a.Excluded,9}  {reasons}"));
        }
    }
}
