using System.Globalization;
using MedSeg.Engine.Data;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Metrics;

namespace MedSeg.Cli.Commands;

/// <summary>
/// <c>medseg evaluate</c>: predicts every pair of a dataset folder (images/ + masks/, paired and validated by
/// <see cref="DatasetScanner"/>), scores it at the original resolution with <see cref="CaseMetrics"/>, writes one CSV row
/// per case and prints mean/median per metric (<see cref="MetricAccumulator"/>). Empty policy (docs/metrics.md): an
/// undefined value is an empty cell and the <c>note</c> column says why.
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
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var run = InferenceCommandOptions.RequireDirectory(options, "run");
        var data = InferenceCommandOptions.RequireDirectory(options, "data");
        var report = InferenceCommandOptions.Require(options, "out");
        var spacing = InferenceCommandOptions.ParseSpacing(options.Get("spacing"));
        var inference = InferenceCommandOptions.Parse(options);
        try
        {
            var scan = DatasetScanner.Scan(data);
            foreach (var p in scan.Problems) error.WriteLine($"medseg evaluate: skipped {p.File}: {p.Problem}");
            if (scan.Pairs.Count == 0) throw new InvalidDataException($"{data} has no valid image/mask pairs.");
            using var predictor = Predictor.Load(run, options.Get("device") ?? "auto", inference);
            if (predictor.Classes != 1)
                throw new InvalidDataException($"evaluate scores binary masks; this run has {predictor.Classes} classes.");
            var accumulator = new MetricAccumulator(new MetricAccumulatorOptions { Spacing = spacing });
            var rows = new List<string> { "name,dice,iou,precision,recall,hd95,assd,note" };
            foreach (var chunk in scan.Pairs.Chunk(inference.BatchSize))
            {
                var predictions = predictor.PredictMany(chunk.Select(c => c.ImagePath).ToArray());
                for (var i = 0; i < chunk.Length; i++)
                {
                    var (pair, predicted) = (chunk[i], predictions[i]);
                    var truth = MaskReader.Read(pair.MaskPath);
                    if (truth.Width != predicted.Width || truth.Height != predicted.Height)
                        throw new InvalidDataException($"Case '{pair.Name}': the mask is {truth.Width}×{truth.Height} but the image is {predicted.Width}×{predicted.Height}.");
                    var metrics = CaseMetrics.Compute(predicted.Pixels, truth.Pixels, truth.Height, truth.Width, spacing);
                    accumulator.Update(metrics);
                    rows.Add(Row(pair.Name, metrics));
                }
            }
            var dir = Path.GetDirectoryName(Path.GetFullPath(report))!;
            Directory.CreateDirectory(dir);
            File.WriteAllLines(report + ".tmp", rows);
            File.Move(report + ".tmp", report, overwrite: true);
            PrintSummary(accumulator.Compute(), output);
            output.WriteLine($"Per-case report: {Path.GetFullPath(report)}");
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"medseg evaluate: {e.Message}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>One CSV row; undefined values are empty cells, and the note names the empty-mask rule that applied.</summary>
    internal static string Row(string name, CaseMetrics metrics)
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
            .Concat(cells.Select(v => v.IsDefined ? v.Value.ToString("R", CultureInfo.InvariantCulture) : ""))
            .Append(Csv(note)));
    }

    private static string Csv(string text) =>
        text.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;

    private static void PrintSummary(MetricSummary summary, TextWriter output)
    {
        output.WriteLine($"{summary.Cases} case(s)");
        output.WriteLine($"{"metric",-10} {"mean",9} {"median",9} {"included",9} {"excluded",9}  excluded by reason");
        foreach (var m in Columns)
        {
            var a = summary[m];
            var reasons = string.Join(", ", a.ExcludedByReason.Select(kv => $"{kv.Key}: {kv.Value}"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{m,-10} {a.Mean,9:F4} {a.Median,9:F4} {a.Included,9} {a.Excluded,9}  {reasons}"));
        }
    }
}
