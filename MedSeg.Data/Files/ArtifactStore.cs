namespace MedSeg.Data.Files;

/// <summary>
/// The file side of the data folder: datasets/{id}/ (images, masks, thumbnails), experiments/{id}/ (checkpoints,
/// previews, predictions), staging/ (uploads being validated) and trash/ (folders of deleted items, moved there in one
/// rename before they are removed). Every path handed out stays inside the root.
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

    public string TrashDirectory => Path.Combine(Root, "trash");

    /// <summary>Moves a folder into <c>trash/</c> with one rename (atomic on one file system) and returns where it went; null
    /// when there was no such folder. What lies in the trash belongs to no row and is removed by <see cref="EmptyTrash"/>.</summary>
    public string? MoveToTrash(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || full.StartsWith(TrashDirectory, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{directory}' is not a folder of the data root outside the trash.", nameof(directory));
        }
        if (!Directory.Exists(full)) return null;
        Directory.CreateDirectory(TrashDirectory);
        var target = Path.Combine(TrashDirectory, $"{Path.GetFileName(full)}-{Guid.NewGuid():N}");
        Directory.Move(full, target);
        return target;
    }

    /// <summary>Removes everything in <c>trash/</c> (left by a process that died between the move and the delete).</summary>
    public int EmptyTrash()
    {
        if (!Directory.Exists(TrashDirectory)) return 0;
        var removed = 0;
        foreach (var dir in Directory.EnumerateDirectories(TrashDirectory))
        {
            if (TryDelete(dir)) removed++;
        }
        return removed;
    }

    /// <summary>
    /// Moves to the trash the folders under <c>datasets/</c> or <c>experiments/</c> (<paramref name="kind"/>) whose name is
    /// no id in <paramref name="known"/>: folders of a row that was deleted (the process died before it moved them), or of an
    /// upload whose row was never committed. Folders changed within <paramref name="youngerThan"/> are left alone: on a
    /// shared data root another node may be committing that upload's row right now. Returns the names of those moved.
    /// </summary>
    public IReadOnlyList<string> TrashOrphans(string kind, IReadOnlySet<Guid> known, TimeSpan youngerThan)
    {
        if (kind is not ("datasets" or "experiments")) throw new ArgumentException("datasets or experiments", nameof(kind));
        var parent = Path.Combine(Root, kind);
        if (!Directory.Exists(parent)) return [];
        var moved = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories(parent))
        {
            var name = Path.GetFileName(dir);
            if (Guid.TryParseExact(name, "N", out var id) && known.Contains(id)) continue;
            if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) < youngerThan) continue;
            MoveToTrash(dir);
            moved.Add(name);
        }
        return moved;
    }

    /// <summary>Bytes of every file under a folder (0 when it does not exist); files that vanish meanwhile count 0.</summary>
    public static long SizeOf(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                try { total += file.Length; } catch (FileNotFoundException) { }
            }
        }
        catch (DirectoryNotFoundException)
        {
        }
        return total;
    }

    /// <summary>Deletes a folder and what it holds; false (and the folder left for the next start) when that failed.</summary>
    public static bool TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

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
