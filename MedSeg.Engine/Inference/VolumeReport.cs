using System.Text.Json;
using MedSeg.Engine.Metrics;
using MedSeg.Engine.Training;

namespace MedSeg.Engine.Inference;

/// <summary>
/// The final evaluation of validation volumes: the best checkpoint's slice predictions at the original resolution
/// (<see cref="Predictor.Evaluate"/> with a <see cref="VolumeScorer"/>) stacked per volume and scored whole, Dice and 3D HD95
/// in mm per foreground class, written as <c>predictions/volumes.json</c> in the run folder (<see cref="FileName"/>).
/// </summary>
public static class VolumeReport
{
    public const string FileName = "volumes.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>Scores every volume of <paramref name="scorer"/>; each volume's voxel size is that of its first case in
    /// <paramref name="cases"/> (<see cref="CaseVolume.Spacing"/>; HD95 stays null without the slice spacing).</summary>
    public static IReadOnlyList<VolumeResult> Score(VolumeScorer scorer, IReadOnlyList<TrainingCase> cases, int classes)
    {
        var spacing = new Dictionary<string, VoxelSpacing?>(StringComparer.Ordinal);
        foreach (var c in cases)
            if (c.Volume is { } v) spacing.TryAdd(v.Id, v.Spacing);
        return scorer.Score(classes, id => spacing.GetValueOrDefault(id));
    }

    /// <summary>Writes <see cref="FileName"/> into <paramref name="directory"/> (replaced in one rename).</summary>
    public static void Write(string directory, IReadOnlyList<VolumeResult> results) =>
        AtomicFile.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(results, Json));

    /// <summary>The volumes of <paramref name="directory"/>'s <see cref="FileName"/>; null when there is none or it is unreadable.</summary>
    public static IReadOnlyList<VolumeResult>? Read(string directory)
    {
        var file = Path.Combine(directory, FileName);
        if (!File.Exists(file)) return null;
        try
        {
            return JsonSerializer.Deserialize<List<VolumeResult>>(File.ReadAllText(file), Json);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }
}
