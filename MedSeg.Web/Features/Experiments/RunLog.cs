using System.Globalization;
using System.Text;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// A run's human-readable log, <c>logs/train.log</c> in its artifact folder: the start (device, parameters, resume), one line
/// per epoch (losses, Dice, learning rate, time), the engine's messages and warnings, restarts and the final status with the
/// reason of a failure. Written by the job that relays the training child's events (it also knows what the child cannot
/// tell: how it died); read by <c>GET /api/experiments/{id}/log?tail=N</c> and the experiment page.
/// </summary>
public static class RunLog
{
    public const string RelativePath = "logs/train.log";
    public const int DefaultTail = 50, MaxTail = 1000;
    private static readonly Lock Gate = new();

    public static string PathIn(string runDirectory) => Path.Combine(runDirectory, "logs", "train.log");

    /// <summary>Appends one timestamped line (never throws: the log must not break a run).</summary>
    public static void Append(string runDirectory, string message)
    {
        try
        {
            var path = PathIn(runDirectory);
            var line = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "  " +
                       message.ReplaceLineEndings(" | ") + "\n";
            lock (Gate)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.AppendAllText(path, line, Encoding.UTF8);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public static string Epoch(int epoch, int epochs, double trainLoss, double validationLoss, double dice, double iou, double lr, double seconds) =>
        string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch}/{epochs}  train loss {trainLoss:F4}  val loss {validationLoss:F4}  dice {dice:F4}  iou {iou:F4}  lr {lr:0.###e+0}  time {seconds:F1}s");

    /// <summary>The last <paramref name="lines"/> lines (clamped to 1 … <see cref="MaxTail"/>); empty when there is no log yet.</summary>
    public static IReadOnlyList<string> Tail(string runDirectory, int lines)
    {
        lines = Math.Clamp(lines, 1, MaxTail);
        var path = PathIn(runDirectory);
        if (!File.Exists(path)) return [];
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var tail = new Queue<string>(lines + 1);
            while (reader.ReadLine() is { } line)
            {
                tail.Enqueue(line);
                if (tail.Count > lines) tail.Dequeue();
            }
            return [.. tail];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
