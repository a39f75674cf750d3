using System.Text.Json;
using System.Text.Json.Serialization;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Training;

namespace MedSeg.Engine.Isolation;

/// <summary>
/// What a training or prediction child process reports to its parent: one JSON object per line on standard output,
/// behind <see cref="ChildProtocol.Prefix"/> (anything else a native library prints there is a log line). The parent
/// talks back on the child's standard input: <c>cancel</c> asks for a graceful stop, and end of input means the parent
/// died, so the child ends at once (its checkpoints are written atomically, so nothing is lost but the epoch in progress).
/// </summary>
public sealed record ChildEvent
{
    public required ChildEventKind Kind { get; init; }
    public TrainingStarted? Started { get; init; }
    public BatchProgress? Batch { get; init; }
    public EpochSummary? Epoch { get; init; }
    public PreviewWritten? Preview { get; init; }
    /// <summary>A log line (<see cref="ChildEventKind.Log"/>) or the failure's message (<see cref="ChildEventKind.Failed"/>).</summary>
    public string? Message { get; init; }
    public ChildFailureKind? Failure { get; init; }
    public TrainingResult? Result { get; init; }
    /// <summary>The evaluated validation cases of a training child (in its <see cref="ChildEventKind.Finished"/> event).</summary>
    public IReadOnlyList<CasePrediction>? Evaluated { get; init; }
    /// <summary>The evaluated validation volumes, scored whole (also in <c>predictions/volumes.json</c>); null without volumes.</summary>
    public IReadOnlyList<Metrics.VolumeResult>? Volumes { get; init; }
    /// <summary>A training child asked to profile (<see cref="TrainingChildPlan.Profile"/>): the run's measurement, or why it
    /// could not be made (<see cref="ProfileError"/>; the run still completes).</summary>
    public RunProfile? Profile { get; init; }
    public string? ProfileError { get; init; }
    /// <summary>Prediction children: how many inputs are done, of how many.</summary>
    public int? Done { get; init; }
    public int? Total { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<ChildEventKind>))]
public enum ChildEventKind
{
    Started,
    Batch,
    Epoch,
    Preview,
    Log,
    /// <summary>Prediction children: <see cref="ChildEvent.Done"/> of <see cref="ChildEvent.Total"/> inputs are written.</summary>
    Progress,
    /// <summary>The work finished; for training, <see cref="ChildEvent.Result"/> and <see cref="ChildEvent.Evaluated"/> hold the outcome.</summary>
    Finished,
    /// <summary>The work failed in a way the child could still report (<see cref="ChildEvent.Failure"/>).</summary>
    Failed,
    /// <summary>The child stopped after a <c>cancel</c> from its parent.</summary>
    Cancelled,
}

/// <summary>A failure the child caught and classified.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChildFailureKind>))]
public enum ChildFailureKind
{
    /// <summary>The plan or the data cannot be run (not retried).</summary>
    Invalid,
    /// <summary>The loss became NaN or infinite (not retried: an exact resume would fail the same way).</summary>
    NonFiniteLoss,
    /// <summary>A checkpoint could not be written (not retried until the disk is fixed).</summary>
    Checkpoint,
    /// <summary>libtorch raised an error (retried from the last checkpoint: the known ones are transient).</summary>
    Native,
    /// <summary>The managed runtime ran out of memory (not retried).</summary>
    OutOfMemory,
    /// <summary>Anything else (not retried).</summary>
    Error,
}

public static class ChildProtocol
{
    public const string Prefix = "@medseg ";
    public const string CancelCommand = "cancel";

    /// <summary>Exit codes of a child that reported its own end.</summary>
    public const int ExitFinished = 0;
    public const int ExitFailed = 3;
    public const int ExitCancelled = 4;
    /// <summary>The parent's pipe closed: the child killed itself (SIGKILL shows as 137 where the OS reports it).</summary>
    public const int ExitOrphaned = 5;

    internal static readonly JsonSerializerOptions Json = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a NaN loss must still be reportable
    };

    public static string Serialize(ChildEvent e) => Prefix + JsonSerializer.Serialize(e, Json);

    /// <summary>The event on this line of the child's standard output, or null for a plain (log) line.</summary>
    public static ChildEvent? Parse(string line)
    {
        if (!line.StartsWith(Prefix, StringComparison.Ordinal)) return null;
        try
        {
            return JsonSerializer.Deserialize<ChildEvent>(line.AsSpan(Prefix.Length), Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The failure kind of an exception caught in a child.</summary>
    public static ChildFailureKind Classify(Exception e) => e switch
    {
        TrainingFailedException { Kind: TrainingFailureKind.NonFiniteLoss } => ChildFailureKind.NonFiniteLoss,
        TrainingFailedException { Kind: TrainingFailureKind.Checkpoint } => ChildFailureKind.Checkpoint,
        TrainingFailedException or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
            => ChildFailureKind.Invalid,
        OutOfMemoryException or InsufficientExecutionStackException => ChildFailureKind.OutOfMemory,
        System.Runtime.InteropServices.ExternalException => ChildFailureKind.Native,
        _ => ChildFailureKind.Error,
    };

    /// <summary>Replays a training child's event on an observer of the parent (the web's adapter, the CLI's progress).</summary>
    public static void Replay(ChildEvent e, ITrainingObserver observer)
    {
        switch (e.Kind)
        {
            case ChildEventKind.Started when e.Started is { } s: observer.OnStarted(s); break;
            case ChildEventKind.Batch when e.Batch is { } b: observer.OnBatch(b); break;
            case ChildEventKind.Epoch when e.Epoch is { } ep: observer.OnEpoch(ep); break;
            case ChildEventKind.Preview when e.Preview is { } p: observer.OnPreview(p); break;
            case ChildEventKind.Log when e.Message is { } m: observer.OnLog(m); break;
        }
    }
}

/// <summary>The child's side: an observer that writes every training event to standard output for the parent.</summary>
public sealed class ChildEventWriter(TextWriter output) : ITrainingObserver
{
    private readonly Lock gate = new();

    public void Write(ChildEvent e)
    {
        var line = ChildProtocol.Serialize(e);
        lock (gate)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }

    public void OnStarted(TrainingStarted e) => Write(new ChildEvent { Kind = ChildEventKind.Started, Started = e });
    public void OnBatch(BatchProgress e) => Write(new ChildEvent { Kind = ChildEventKind.Batch, Batch = e });
    public void OnEpoch(EpochSummary e) => Write(new ChildEvent { Kind = ChildEventKind.Epoch, Epoch = e });
    public void OnPreview(PreviewWritten e) => Write(new ChildEvent { Kind = ChildEventKind.Preview, Preview = e });
    public void OnLog(string message) => Write(new ChildEvent { Kind = ChildEventKind.Log, Message = message });
}
