using System.Text.Json;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Training;

namespace MedSeg.Engine.Isolation;

/// <summary>The file a training child (<c>medseg run-experiment --plan FILE</c>) runs: the plan, then optionally the
/// evaluation of the validation cases with the best checkpoint into <see cref="EvaluationDirectory"/>. With
/// <see cref="EvaluateOnly"/> the last checkpoint stands as it is (a time budget spent before the evaluation). With
/// <see cref="Profile"/> the child also measures the evaluated run (<see cref="RunProfile"/>: size and batch-1 latency).</summary>
public sealed record TrainingChildPlan(TrainingPlan Plan, string? EvaluationDirectory = null, bool EvaluateOnly = false, bool Profile = false)
{
    public void Write(string path) => ChildPlanFile.Write(path, this);
    public static TrainingChildPlan Read(string path) => ChildPlanFile.Read<TrainingChildPlan>(path);
}

/// <summary>One image to predict: <paramref name="Name"/> names the output mask (<c>Name.png</c>).</summary>
public sealed record PredictionInput(string Name, string ImagePath)
{
    /// <summary>Set when the input is a NIfTI volume: it is sliced along this axis and predicted into <c>Name.nii.gz</c>
    /// (<see cref="VolumePrediction"/>).</summary>
    public Data.Volumes.SliceAxis? VolumeAxis { get; init; }
}

/// <summary>The file a prediction child (<c>medseg run-prediction --plan FILE</c>) runs: every input through the run's
/// best checkpoint, one PNG mask per input in <see cref="OutputDirectory"/>, progress reported per batch.</summary>
public sealed record PredictionChildPlan(string RunDirectory, string Device, InferenceOptions Options,
    IReadOnlyList<PredictionInput> Inputs, string OutputDirectory)
{
    /// <summary>The other members of an ensemble (<see cref="EnsemblePredictor"/>: <see cref="RunDirectory"/> first, then these,
    /// probabilities averaged); empty for one model. Ensembles take 2D images only.</summary>
    public IReadOnlyList<string> EnsembleRunDirectories { get; init; } = [];

    public void Write(string path) => ChildPlanFile.Write(path, this);
    public static PredictionChildPlan Read(string path) => ChildPlanFile.Read<PredictionChildPlan>(path);
}

internal static class ChildPlanFile
{
    private static readonly JsonSerializerOptions Json = new(ChildProtocol.Json) { WriteIndented = true };

    public static void Write<T>(string path, T plan)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(plan, Json));
    }

    public static T Read<T>(string path) =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json)
        ?? throw new InvalidDataException($"{path} holds no plan.");
}
