using System.IO.Compression;
using Hangfire;
using MedSeg.Data.Files;
using MedSeg.Engine.Inference;
using MedSeg.Web.Infrastructure;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Predictions;

/// <summary>
/// Hangfire job (default queue): predicts one mask per uploaded image of a run with the experiment's best checkpoint on the
/// engine's fast inference path, writes them to <c>output/</c> as PNG (0/255 for binary models) and packs them into <c>masks.zip</c>.
/// Progress and the outcome go to the run's status file; the page polls it.
/// </summary>
public sealed class PredictJob(ArtifactStore store, PredictionRunFiles runs, IOptions<TrainingOptions> training, ILogger<PredictJob> logger)
{
    [AutomaticRetry(Attempts = 0)]
    [JobDisplayName("Predict run {1} of experiment {0}")]
    public async Task RunAsync(Guid experimentId, Guid runId, CancellationToken cancellationToken)
    {
        var runDir = runs.RunDirectory(experimentId, runId);
        var state = PredictionRunFiles.ReadFrom(runDir);
        if (state is null || state.Status is PredictionRunStatus.Completed or PredictionRunStatus.Failed)
        {
            logger.LogInformation("Prediction run {Run} needs no work ({Status})", runId, state?.Status);
            return;
        }
        state = state with { Status = PredictionRunStatus.Running, Done = 0, Error = null };
        PredictionRunFiles.WriteTo(runDir, state);
        try
        {
            state = await Task.Run(() => Predict(experimentId, runDir, state, cancellationToken), cancellationToken);
            PredictionRunFiles.WriteTo(runDir, state with { Status = PredictionRunStatus.Completed, Finished = DateTime.UtcNow });
            logger.LogInformation("Prediction run {Run} of experiment {Experiment} wrote {Masks} masks", runId, experimentId, state.Done);
        }
        catch (OperationCanceledException)
        {
            state = PredictionRunFiles.ReadFrom(runDir) ?? state;
            PredictionRunFiles.WriteTo(runDir, state with { Status = PredictionRunStatus.Failed, Error = "Cancelled (the job was deleted or the server stopped).", Finished = DateTime.UtcNow });
        }
        catch (Exception e)
        {
            logger.LogError(e, "Prediction run {Run} of experiment {Experiment} failed", runId, experimentId);
            state = PredictionRunFiles.ReadFrom(runDir) ?? state;
            PredictionRunFiles.WriteTo(runDir, state with { Status = PredictionRunStatus.Failed, Error = $"{e.GetType().Name}: {e.Message}", Finished = DateTime.UtcNow });
        }
    }

    private PredictionRunState Predict(Guid experimentId, string runDir, PredictionRunState state, CancellationToken ct)
    {
        var options = new InferenceOptions
        {
            TestTimeAugmentation = state.TestTimeAugmentation,
            LargestComponent = state.LargestComponent,
            Threads = training.Value.Threads > 0 ? training.Value.Threads : null,
        };
        using var predictor = Predictor.Load(store.ExperimentDirectory(experimentId), training.Value.Device, options);
        var input = PredictionRunFiles.InputDirectory(runDir);
        var output = PredictionRunFiles.OutputDirectory(runDir);
        Directory.CreateDirectory(output);
        foreach (var chunk in state.Images.Chunk(Math.Max(1, options.BatchSize)))
        {
            ct.ThrowIfCancellationRequested();
            var masks = predictor.PredictMany([.. chunk.Select(i => ArtifactStore.Resolve(input, i.File))], ct);
            for (var i = 0; i < chunk.Length; i++)
            {
                File.WriteAllBytes(PredictionRunFiles.MaskFile(runDir, chunk[i].Name), predictor.EncodePng(masks[i]));
            }
            state = state with { Done = state.Done + chunk.Length };
            PredictionRunFiles.WriteTo(runDir, state);
        }

        var zip = Path.Combine(runDir, PredictionRunFiles.MasksZip);
        var temp = zip + ".tmp";
        using (var archive = ZipFile.Open(temp, ZipArchiveMode.Create))
        {
            foreach (var image in state.Images)
            {
                archive.CreateEntryFromFile(PredictionRunFiles.MaskFile(runDir, image.Name), image.Name + ".png", CompressionLevel.Optimal);
            }
        }
        File.Move(temp, zip, overwrite: true);
        return state;
    }
}
