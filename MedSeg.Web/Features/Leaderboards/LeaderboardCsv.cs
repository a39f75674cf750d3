using System.Globalization;
using System.Text;

namespace MedSeg.Web.Features.Leaderboards;

/// <summary>The leaderboard's table as CSV (RFC 4180, UTF-8): one row per model, numbers in invariant culture, empty where
/// a value is not known yet; <c>runs</c> lists the links of the model's runs.</summary>
public static class LeaderboardCsv
{
    public const string Header = "model,variant,image_size,batch_size,parameters,gmacs,latency_ms,dice_mean,dice_std,iou_mean,iou_std," +
                                 "hd95_px_mean,hd95_px_std,training_seconds,peak_memory_bytes,status,runs";

    public static string ToCsv(LeaderboardDetail board)
    {
        var csv = new StringBuilder(Header).Append("\r\n");
        foreach (var r in board.Rows)
        {
            string[] cells =
            [
                Datasets.UploadReport.Cell(r.Model), Datasets.UploadReport.Cell(r.Variant ?? ""), N(r.ImageSize), N(r.BatchSize), N(r.Parameters),
                N(r.GMacs), N(r.LatencyMs), N(r.Dice.Mean), N(r.Dice.Std), N(r.IoU.Mean), N(r.IoU.Std), N(r.Hd95.Mean), N(r.Hd95.Std),
                N(r.TrainingSeconds), N(r.PeakMemoryBytes), r.Status, string.Join(' ', r.Runs.Select(x => $"/experiments/{x.ExperimentId}")),
            ];
            csv.AppendJoin(',', cells).Append("\r\n");
        }
        return csv.ToString();
    }

    private static string N(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("0.######", CultureInfo.InvariantCulture) : "";
    private static string N(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";
}
