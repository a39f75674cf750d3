using System.Text.Json;
using MedSeg.Engine.Models;

namespace MedSeg.Engine.Training;

/// <summary>
/// <c>{RunDirectory}/run.json</c>: everything needed to rebuild the model and its input pipeline for prediction.
/// </summary>
public sealed record RunManifest(
    string Model,
    ModelOptions ModelOptions,
    int ImageSize,
    double Threshold,
    NormalizationInfo Normalization,
    string Loss,
    string Optimizer,
    double LearningRate,
    string Schedule,
    int Epochs,
    int BatchSize,
    int Seed,
    DateTimeOffset CreatedUtc)
{
    public const string FileName = "run.json";

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public static RunManifest Read(string runDirectory)
    {
        var path = Path.Combine(runDirectory, FileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} does not exist: this folder holds no MedSeg training run.", path);
        return JsonSerializer.Deserialize<RunManifest>(File.ReadAllText(path), Json)
               ?? throw new InvalidDataException($"{path} is empty.");
    }

    public void Write(string runDirectory) =>
        AtomicFile.WriteAllText(Path.Combine(runDirectory, FileName), JsonSerializer.Serialize(this, Json));
}

internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".partial";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
