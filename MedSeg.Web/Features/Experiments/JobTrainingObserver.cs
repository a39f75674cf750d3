using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Training;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// Adapts the engine's training events to the database (epoch history) and to SignalR (through the notifier).
/// Called on the trainer's thread: every write uses its own DbContext scope.
/// </summary>
internal sealed class JobTrainingObserver(Guid experimentId, int epochs, IExperimentNotifier notifier,
    IServiceScopeFactory scopes, ILogger logger, string? runDirectory = null) : ITrainingObserver
{
    private static readonly TimeSpan BatchInterval = TimeSpan.FromMilliseconds(250);
    private readonly Lock gate = new();
    private readonly List<PreviewImage> previews = [];
    private Dictionary<string, Guid> previewCases = new(StringComparer.Ordinal);
    private DateTime lastBatch = DateTime.MinValue;
    private int previewEpoch = -1;

    public async Task LoadPreviewCasesAsync(MedSegDbContext db, CancellationToken ct) =>
        previewCases = await db.ExperimentCases.AsNoTracking().Where(c => c.ExperimentId == experimentId && c.IsPreview)
            .Select(c => new { c.DatasetCase!.Name, c.DatasetCaseId })
            .ToDictionaryAsync(c => c.Name, c => c.DatasetCaseId, StringComparer.Ordinal, ct);

    public void OnStarted(TrainingStarted e)
    {
        Log($"started on {e.Device}: {e.Parameters:N0} parameters, epoch {e.StartEpoch}/{e.Epochs}" +
                                    (e.Resumed ? " (resumed from the last checkpoint)" : ""));
        logger.LogInformation("Experiment {Id} on {Device}: {Parameters} parameters, epoch {Start}/{Epochs}{Resumed}",
            experimentId, e.Device, e.Parameters, e.StartEpoch, e.Epochs, e.Resumed ? " (resumed from checkpoint)" : "");
    }

    public void OnBatch(BatchProgress e)
    {
        var now = DateTime.UtcNow;
        if (e.Batch < e.Batches && now - lastBatch < BatchInterval) return;
        lastBatch = now;
        Fire(notifier.BatchProgressAsync(new BatchProgressMessage(experimentId, e.Epoch, epochs, e.Batch, e.Batches, e.Loss)));
    }

    public void OnEpoch(EpochSummary e)
    {
        using (var scope = scopes.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            // An epoch re-run after a crash replaces its earlier row.
            db.EpochMetrics.Where(m => m.ExperimentId == experimentId && m.Epoch >= e.Epoch).ExecuteDelete();
            db.EpochMetrics.Add(new EpochMetric
            {
                ExperimentId = experimentId,
                Epoch = e.Epoch,
                TrainLoss = e.TrainLoss,
                ValidationLoss = e.ValidationLoss,
                ValidationDice = e.ValidationDice,
                ValidationIoU = e.ValidationIoU,
                LearningRate = e.LearningRate,
                Seconds = e.Seconds,
                VolumeDiceJson = e.VolumeDice is { } volumes ? JsonSerializer.Serialize(volumes) : null,
                ClassDiceJson = ClassDice.Serialize(e.ClassDice),
            });
            db.SaveChanges();
            var best = db.EpochMetrics.Where(m => m.ExperimentId == experimentId)
                .OrderByDescending(m => m.ValidationDice).ThenBy(m => m.Epoch).First();
            db.Experiments.Where(x => x.Id == experimentId).ExecuteUpdate(s => s
                .SetProperty(x => x.CurrentEpoch, e.Epoch)
                .SetProperty(x => x.BestDice, (double?)best.ValidationDice)
                .SetProperty(x => x.BestEpoch, (int?)best.Epoch));
        }
        Log(RunLog.Epoch(e.Epoch, epochs, e.TrainLoss, e.ValidationLoss, e.ValidationDice, e.ValidationIoU, e.LearningRate, e.Seconds) +
                                    (e.IsBest ? "  (best)" : ""));
        var point = new EpochPoint(e.Epoch, e.TrainLoss, e.ValidationLoss, e.ValidationDice, e.ValidationIoU, e.LearningRate, e.Seconds, e.ClassDice, e.VolumeDice);
        Fire(notifier.EpochCompletedAsync(new EpochCompletedMessage(experimentId, point, e.IsBest)));
    }

    public void OnPreview(PreviewWritten e)
    {
        if (!previewCases.TryGetValue(e.CaseName, out var caseId)) return;
        List<PreviewImage> snapshot;
        lock (gate)
        {
            if (e.Epoch != previewEpoch)
            {
                previews.Clear();
                previewEpoch = e.Epoch;
            }
            previews.RemoveAll(p => p.CaseId == caseId);
            previews.Add(ExperimentService.Preview(experimentId, caseId, e.CaseName, e.Epoch, e.RelativePath.Replace('\\', '/')));
            snapshot = [.. previews.OrderBy(p => p.CaseName, StringComparer.Ordinal)];
        }
        Fire(notifier.PreviewsUpdatedAsync(new PreviewsUpdatedMessage(experimentId, e.Epoch, snapshot)));
    }

    public void OnLog(string message)
    {
        Log(message);
        logger.LogInformation("Experiment {Id}: {Message}", experimentId, message);
    }

    /// <summary>A line in the run's log (<see cref="RunLog"/>); none without a run folder.</summary>
    private void Log(string message)
    {
        if (runDirectory is not null) RunLog.Append(runDirectory, message);
    }

    private void Fire(Task task) => task.ContinueWith(t => logger.LogWarning(t.Exception, "Live update for {Id} failed", experimentId),
        TaskContinuationOptions.OnlyOnFaulted);
}
