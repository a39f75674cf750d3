namespace MedSeg.Data.Files;

/// <summary>
/// The file side of the data folder: datasets/{id}/ (images, masks, thumbnails), experiments/{id}/ (checkpoints,
/// previews, predictions) and staging/ (uploads being validated). Every path handed out stays inside the root.
/// </summary>
public sealed class ArtifactStore
{
    public ArtifactStore(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string DatasetDirectory(Guid datasetId) => Path.Combine(Root, "datasets", datasetId.ToString("N"));

    public string ExperimentDirectory(Guid experimentId) => Path.Combine(Root, "experiments", experimentId.ToString("N"));

    /// <summary>A new, empty staging folder; the caller deletes it when done.</summary>
    public string CreateStagingDirectory()
    {
        var dir = Path.Combine(Root, "staging", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Combines a stored relative path with its base folder, refusing anything that escapes the base.</summary>
    public static string Resolve(string baseDirectory, string relativePath)
    {
        var full = Path.GetFullPath(Path.Combine(baseDirectory, relativePath));
        var root = Path.GetFullPath(baseDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (!full.StartsWith(root, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Path '{relativePath}' leaves its folder.", nameof(relativePath));
        }
        return full;
    }

    /// <summary>Removes staging folders left by a process that died mid-upload.</summary>
    public void CleanStaging(TimeSpan olderThan)
    {
        var staging = Path.Combine(Root, "staging");
        if (!Directory.Exists(staging)) return;
        foreach (var dir in Directory.EnumerateDirectories(staging))
        {
            if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) > olderThan)
            {
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
