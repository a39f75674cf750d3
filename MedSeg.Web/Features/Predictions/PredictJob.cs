using System.IO.Compression;
using Hangfire;
using MedSeg.Data.Files;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Isolation;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Infrastructure;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Predictions;

/// <summary>
/// Hangfire job (the <c>predict</c> queue, served by its own workers: <see cref="JobsOptions.PredictWorkers"/>): predicts one mask per uploaded image of a run with the experiment's best checkpoint on the
/// engine's fast inference path, in a child process (<c>medseg run-prediction</c>), writes them to <c>output/</c> as PNG
/// (0/255 for binary models; a NIfTI volume slice by slice into <c>Name.nii.gz</c> over its own header) and packs them into
/// <c>masks.zip</c>. Progress, the lease (runner + heartbeat) and the outcome
/// go to the run's status file; the page polls it. A crashed child is started again up to <see cref="JobsOptions.MaxRestarts"/>
/// times; a server that stops marks the run Interrupted and <see cref="ExperimentRecoveryService"/> enqueues it again.
/// </summary>
public sealed class PredictJob(ArtifactStore store, PredictionRunFiles runs, RunningExperiments running, IOptions<TrainingOptions> training,
    IOptions<JobsOptions> jobsOptions, ILogger<PredictJob> logger)
{
    public const string PlanFile = "child-plan.json";
    private static readonly Lock StatusGate = new();

    [AutomaticRetry(Attempts = 0)]
    [Queue(JobsExtensions.PredictQueue)]
    [JobDisplayName("Predict run {1} of experiment {0}")]
    public async Task RunAsync(Guid experimentId, Guid runId, CancellationToken cancellationToken)
    {
        var runDir = runs.RunDirectory(experimentId, runId);
        var state = PredictionRunFiles.ReadFrom(runDir);
        if (state is null || !state.IsActive)
        {
            logger.LogInformation("Prediction run {Run} needs no work ({Status})", runId, state?.Status);
            return;
        }
        var jobs = jobsOptions.Value;
        if (state.Status == PredictionRunStatus.Running && !IsStale(state, jobs))
        {
            logger.LogWarning("Prediction run {Run} is running in {Runner}; this job exits", runId, state.Runner);
            return;
        }
        state = Update(runDir, s => s with
        {
            Status = PredictionRunStatus.Running, Done = 0, Error = null, Runner = running.RunnerId, Heartbeat = DateTime.UtcNow,
        });
        using var heartbeat = new Timer(_ => Beat(runDir), null, TrainExperimentJob.HeartbeatInterval, TrainExperimentJob.HeartbeatInterval);
        try
        {
            var outcome = await PredictAsync(experimentId, runDir, state, cancellationToken);
            if (outcome is null)
            {
                BuildZip(runDir, state);
                Update(runDir, s => s with { Status = PredictionRunStatus.Completed, Finished = DateTime.UtcNow, Runner = null });
                logger.LogInformation("Prediction run {Run} of experiment {Experiment} wrote {Masks} masks", runId, experimentId, state.Images.Count);
            }
            else if (outcome.End == ChildEnd.Cancelled)
            {
                // The server is stopping: the run starts again when it is back.
                Update(runDir, s => s with { Status = PredictionRunStatus.Interrupted, Runner = null, Error = "Interrupted by a shutdown; it starts again when the server is back." });
            }
            else
            {
                Update(runDir, s => s with
                {
                    Status = PredictionRunStatus.Failed, Runner = null, Finished = DateTime.UtcNow,
                    Error = ServerPaths.Redact(TrainExperimentJob.FailureMessage(outcome, s.Restarts), store.Root),
                });
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Prediction run {Run} of experiment {Experiment} failed", runId, experimentId);
            Update(runDir, s => s with { Status = PredictionRunStatus.Failed, Runner = null, Error = ServerPaths.Redact($"{e.GetType().Name}: {e.Message}", store.Root), Finished = DateTime.UtcNow });
        }
    }

    /// <summary>Runs the child until it finishes (null), or returns how it ended after the last allowed restart.</summary>
    private async Task<ChildOutcome?> PredictAsync(Guid experimentId, string runDir, PredictionRunState state, CancellationToken ct)
    {
        var jobs = jobsOptions.Value;
        var options = new InferenceOptions
        {
            TestTimeAugmentation = state.TestTimeAugmentation,
            LargestComponent = state.LargestComponent,
            Mode = state.SlidingWindow ? PredictionMode.SlidingWindow : PredictionMode.Resize,
            Threads = training.Value.Threads > 0 ? training.Value.Threads : null,
        };
        var input = PredictionRunFiles.InputDirectory(runDir);
        var plan = new PredictionChildPlan(store.ExperimentDirectory(experimentId), training.Value.Device, options,
            [.. state.Images.Select(i => new PredictionInput(i.Name, ArtifactStore.Resolve(input, i.File)) { VolumeAxis = i.IsVolume ? i.Axis ?? SliceAxis.Auto : null })],
            PredictionRunFiles.OutputDirectory(runDir))
        {
            EnsembleRunDirectories = [.. state.Ensemble.Select(store.ExperimentDirectory)],
        };
        var planPath = Path.Combine(runDir, PlanFile);
        plan.Write(planPath);
        var start = jobs.Child(ChildCommands.RunPrediction, planPath, "prediction process");
        var limits = jobs.ChildLimits;
        while (true)
        {
            var outcome = await ChildSupervisor.RunAsync(start, limits, e =>
            {
                if (e.Kind == ChildEventKind.Progress && e.Done is int done) Update(runDir, s => s with { Done = done, Heartbeat = DateTime.UtcNow });
            }, line => logger.LogDebug("Prediction child: {Line}", line), ct);
            if (outcome.End == ChildEnd.Finished) return null;
            var restarts = PredictionRunFiles.ReadFrom(runDir)?.Restarts ?? 0;
            logger.LogWarning("Prediction run {Run}: {Reason}", state.Id, outcome.Reason);
            if (!outcome.Retryable || restarts >= jobs.MaxRestarts) return outcome;
            Update(runDir, s => s with { Restarts = s.Restarts + 1, Done = 0, Error = ServerPaths.Redact($"{outcome.Reason} Starting again (restart {restarts + 1} of {jobs.MaxRestarts}).", store.Root) });
        }
    }

    private static void BuildZip(string runDir, PredictionRunState state)
    {
        var zip = Path.Combine(runDir, PredictionRunFiles.MasksZip);
        var temp = zip + ".tmp";
        using (var archive = ZipFile.Open(temp, ZipArchiveMode.Create))
        {
            foreach (var image in state.Images)
            {
                archive.CreateEntryFromFile(PredictionRunFiles.MaskFile(runDir, image), PredictionRunFiles.MaskName(image),
                    image.IsVolume ? CompressionLevel.NoCompression : CompressionLevel.Optimal); // a .nii.gz is compressed already
            }
        }
        File.Move(temp, zip, overwrite: true);
    }

    /// <summary>A Running run whose heartbeat is older than <see cref="JobsOptions.StaleAfterSeconds"/>: its process died.</summary>
    internal static bool IsStale(PredictionRunState state, JobsOptions jobs) =>
        state.Heartbeat is not { } beat || beat < DateTime.UtcNow - TimeSpan.FromSeconds(jobs.StaleAfterSeconds);

    private void Beat(string runDir)
    {
        try
        {
            Update(runDir, s => s.Runner == running.RunnerId && s.Status == PredictionRunStatus.Running ? s with { Heartbeat = DateTime.UtcNow } : s);
        }
        catch (IOException e)
        {
            logger.LogWarning(e, "Heartbeat of prediction run {Dir} failed", runDir);
        }
    }

    /// <summary>Read, change and write the status file under one lock (the heartbeat and the progress write it too).</summary>
    internal static PredictionRunState Update(string runDir, Func<PredictionRunState, PredictionRunState> change)
    {
        lock (StatusGate)
        {
            var current = PredictionRunFiles.ReadFrom(runDir) ?? throw new IOException($"The status file of {runDir} is missing.");
            var next = change(current);
            if (!ReferenceEquals(next, current)) PredictionRunFiles.WriteTo(runDir, next);
            return next;
        }
    }
}
