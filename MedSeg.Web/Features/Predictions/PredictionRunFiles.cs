using System.Text.Json;
using System.Text.Json.Serialization;
using MedSeg.Data.Files;

namespace MedSeg.Web.Features.Predictions;

/// <summary>
/// The files of a prediction run: <c>experiments/{id}/predictions-runs/{runId}/</c> holds <c>status.json</c>,
/// <c>input/</c> (the uploaded images), <c>output/</c> (one PNG mask per image, named by its stem; a <c>.nii.gz</c> label
/// volume per NIfTI volume) and <c>masks.zip</c>.
/// The status file is the run's only state; it is replaced atomically (temp file + rename), so readers never see half of it.
/// </summary>
public sealed class PredictionRunFiles(ArtifactStore store)
{
    public const string StatusFile = "status.json";
    public const string MasksZip = "masks.zip";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public string RunsDirectory(Guid experimentId) => Path.Combine(store.ExperimentDirectory(experimentId), "predictions-runs");

    public string RunDirectory(Guid experimentId, Guid runId) => Path.Combine(RunsDirectory(experimentId), runId.ToString("N"));

    public static string InputDirectory(string runDirectory) => Path.Combine(runDirectory, "input");

    public static string OutputDirectory(string runDirectory) => Path.Combine(runDirectory, "output");

    public static string MaskFile(string runDirectory, string name) => Path.Combine(OutputDirectory(runDirectory), name + ".png");

    /// <summary>The mask of an input: <c>Name.png</c>, or <c>Name.nii.gz</c> for a volume.</summary>
    public static string MaskFile(string runDirectory, PredictionImage image) =>
        Path.Combine(OutputDirectory(runDirectory), MaskName(image));

    /// <summary>The mask's file name in <c>output/</c> and in masks.zip.</summary>
    public static string MaskName(PredictionImage image) => image.Name + (image.IsVolume ? ".nii.gz" : ".png");

    public PredictionRunState? Read(Guid experimentId, Guid runId) => ReadFrom(RunDirectory(experimentId, runId));

    public static PredictionRunState? ReadFrom(string runDirectory)
    {
        var file = Path.Combine(runDirectory, StatusFile);
        if (!File.Exists(file)) return null;
        try
        {
            return JsonSerializer.Deserialize<PredictionRunState>(File.ReadAllBytes(file), Json);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }

    /// <summary>Every run of an experiment, newest first.</summary>
    public IReadOnlyList<PredictionRunState> ReadAll(Guid experimentId)
    {
        var dir = RunsDirectory(experimentId);
        if (!Directory.Exists(dir)) return [];
        return [.. Directory.EnumerateDirectories(dir).Select(ReadFrom).OfType<PredictionRunState>().OrderByDescending(r => r.Created)];
    }

    public static void WriteTo(string runDirectory, PredictionRunState state)
    {
        Directory.CreateDirectory(runDirectory);
        var file = Path.Combine(runDirectory, StatusFile);
        var temp = file + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(state, Json));
        File.Move(temp, file, overwrite: true);
    }
}
