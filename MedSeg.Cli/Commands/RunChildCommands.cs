using MedSeg.Engine.Data;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Training;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg run-experiment --plan FILE</c>: trains a <see cref="TrainingChildPlan"/> (resuming from the run's
/// checkpoint), evaluates its validation cases, and reports every event on standard output for a supervising parent
/// (the web app's training job; <see cref="ChildSupervisor"/>). Usable by hand too: the events are JSON lines.</summary>
public sealed class RunExperimentCommand : ICommand
{
    /// <summary>Fault injection for the fault tests: sleep this many milliseconds after every training batch.</summary>
    public const string BatchDelayVariable = "MEDSEG_FAULT_BATCH_DELAY_MS";

    public string Name => ChildCommands.RunExperiment;

    public string Summary => "Run a training plan file as a supervised child process (the web app's jobs use it)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        .. ChildOptions.Common,
        new("progress-file", "Write 'epoch batch batches' to this file after every batch (medseg train --progress-file)", ValueName: "FILE"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var planPath = ChildOptions.RequirePlan(options);
        var events = new ChildEventWriter(output);
        return ChildHost.Run(events, options.Has("parent-pipe"), ct =>
        {
            var child = TrainingChildPlan.Read(planPath);
            var delay = int.TryParse(Environment.GetEnvironmentVariable(BatchDelayVariable), out var ms) ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
            ITrainingObserver observer = delay > TimeSpan.Zero || options.Get("progress-file") is not null
                ? new BatchHook(events, delay, options.Get("progress-file"))
                : events;
            var result = child.EvaluateOnly && Trainer.ResultOfCheckpoint(child.Plan.RunDirectory, child.Plan.Epochs) is { } standing
                ? standing
                : new Trainer().RunAsync(child.Plan, observer, ct).GetAwaiter().GetResult();
            IReadOnlyList<CasePrediction>? evaluated = null;
            IReadOnlyList<VolumeResult>? volumes = null;
            if (child.EvaluationDirectory is { } evaluation)
            {
                using var predictor = Predictor.Load(child.Plan.RunDirectory, child.Plan.Device);
                var scorer = new VolumeScorer();
                evaluated = predictor.Evaluate(child.Plan.Validation, evaluation, ct, scorer);
                if (scorer.Count > 0)
                {
                    volumes = VolumeReport.Score(scorer, child.Plan.Validation, predictor.Classes);
                    VolumeReport.Write(evaluation, volumes);
                }
            }
            RunProfile? profile = null;
            string? profileError = null;
            if (child.Profile && child.EvaluationDirectory is not null)
            {
                try
                {
                    profile = RunProfile.Measure(child.Plan.RunDirectory, child.Plan.Device);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    profileError = $"{e.GetType().Name}: {e.Message}";
                }
            }
            return new ChildEvent
            {
                Kind = ChildEventKind.Finished, Result = result, Evaluated = evaluated, Volumes = volumes, Profile = profile, ProfileError = profileError,
            };
        });
    }

    /// <summary>After every batch: the progress file (written synchronously, so a named pipe holds the trainer there) and the
    /// fault tests' delay.</summary>
    private sealed class BatchHook(ChildEventWriter inner, TimeSpan delay, string? progressFile) : ITrainingObserver
    {
        public void OnStarted(TrainingStarted e) => inner.OnStarted(e);
        public void OnBatch(BatchProgress e)
        {
            inner.OnBatch(e);
            if (progressFile is not null)
            {
                try
                {
                    File.WriteAllText(progressFile, $"{e.Epoch} {e.Batch} {e.Batches}\n");
                }
                catch (IOException)
                {
                    // A reader holds the file; the next batch writes again.
                }
            }
            if (delay > TimeSpan.Zero) Thread.Sleep(delay);
        }
        public void OnEpoch(EpochSummary e) => inner.OnEpoch(e);
        public void OnPreview(PreviewWritten e) => inner.OnPreview(e);
        public void OnLog(string message) => inner.OnLog(message);
    }
}

/// <summary><c>medseg run-prediction --plan FILE</c>: predicts every input of a <see cref="PredictionChildPlan"/> with the
/// run's best checkpoint (one PNG per input, written atomically), reporting progress per batch to a supervising parent.</summary>
public sealed class RunPredictionCommand : ICommand
{
    public string Name => ChildCommands.RunPrediction;

    public string Summary => "Run a prediction plan file as a supervised child process (the web app's jobs use it)";

    public IReadOnlyList<CommandOption> Options { get; } = ChildOptions.Common;

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var planPath = ChildOptions.RequirePlan(options);
        var events = new ChildEventWriter(output);
        return ChildHost.Run(events, options.Has("parent-pipe"), ct =>
        {
            var plan = PredictionChildPlan.Read(planPath);
            using var ensemble = plan.EnsembleRunDirectories.Count > 0
                ? EnsemblePredictor.Load([plan.RunDirectory, .. plan.EnsembleRunDirectories], plan.Device, plan.Options)
                : null;
            using var single = ensemble is null ? Predictor.Load(plan.RunDirectory, plan.Device, plan.Options) : null;
            var predictor = single ?? ensemble!.Members[0];
            Func<string[], IReadOnlyList<BinaryMask>> predict = ensemble is not null ? paths => ensemble.PredictMany(paths, ct) : paths => predictor.PredictMany(paths, ct);
            if (ensemble is not null && plan.Inputs.Any(i => i.VolumeAxis is not null))
                throw new InvalidDataException("Ensembles predict 2D images; predict NIfTI volumes with one run.");
            Directory.CreateDirectory(plan.OutputDirectory);
            var done = 0;
            foreach (var volume in plan.Inputs.Where(i => i.VolumeAxis is not null))
            {
                VolumePrediction.Predict(predictor, volume.ImagePath, Path.Combine(plan.OutputDirectory, volume.Name + ".nii.gz"),
                    volume.VolumeAxis!.Value, name: volume.Name, ct: ct);
                events.Write(new ChildEvent { Kind = ChildEventKind.Progress, Done = ++done, Total = plan.Inputs.Count });
            }
            foreach (var chunk in plan.Inputs.Where(i => i.VolumeAxis is null).Chunk(Math.Max(1, plan.Options.BatchSize)))
            {
                ct.ThrowIfCancellationRequested();
                var masks = predict([.. chunk.Select(i => i.ImagePath)]);
                for (var i = 0; i < chunk.Length; i++)
                {
                    var path = Path.Combine(plan.OutputDirectory, chunk[i].Name + ".png");
                    File.WriteAllBytes(path + ".tmp", predictor.EncodePng(masks[i]));
                    File.Move(path + ".tmp", path, overwrite: true);
                }
                done += chunk.Length;
                events.Write(new ChildEvent { Kind = ChildEventKind.Progress, Done = done, Total = plan.Inputs.Count });
            }
            return new ChildEvent { Kind = ChildEventKind.Finished, Done = done, Total = plan.Inputs.Count };
        });
    }
}

internal static class ChildOptions
{
    public static readonly IReadOnlyList<CommandOption> Common =
    [
        new("plan", "The plan file (JSON) the parent wrote", ValueName: "FILE"),
        new("parent-pipe", "Standard input is the parent's pipe: 'cancel' stops, end of input ends the process", IsFlag: true),
    ];

    public static string RequirePlan(ParsedOptions options)
    {
        var plan = options.Get("plan") ?? throw new UsageException("--plan FILE is required.");
        if (!File.Exists(plan)) throw new UsageException($"--plan: '{plan}' does not exist.");
        return plan;
    }
}
