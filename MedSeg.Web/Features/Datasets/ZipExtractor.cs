using System.IO.Compression;
using MedSeg.Engine.Data;

namespace MedSeg.Web.Features.Datasets;

/// <summary>Unpacks an uploaded archive safely: no path escapes, no archive bombs, no junk (macOS forks, hidden files).</summary>
public static class ZipExtractor
{
    public const long MaxUncompressedBytes = 64L * 1024 * 1024 * 1024;
    public const int MaxEntries = 500_000;

    public static async Task<IReadOnlyList<DatasetProblem>> ExtractAsync(Stream zip, string destination, CancellationToken ct)
    {
        Directory.CreateDirectory(destination);
        var root = Path.GetFullPath(destination).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        // ZipArchive needs a seekable stream; spool the upload to disk first.
        var spool = Path.Combine(Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar))!, "upload.zip");
        await using (var file = File.Create(spool))
        {
            await zip.CopyToAsync(file, ct);
        }
        try
        {
            using var archive = ZipFile.OpenRead(spool);
            if (archive.Entries.Count > MaxEntries)
            {
                return [new DatasetProblem("(archive)", $"The archive has {archive.Entries.Count} entries; at most {MaxEntries} are accepted.")];
            }
            long total = 0;
            foreach (var entry in archive.Entries)
            {
                ct.ThrowIfCancellationRequested();
                var name = entry.FullName.Replace('\\', '/');
                if (name.EndsWith('/')) continue;
                var target = Path.GetFullPath(Path.Combine(root, name));
                if (!target.StartsWith(root, StringComparison.Ordinal) || name.Split('/').Contains(".."))
                {
                    return [new DatasetProblem(name, "This entry points outside the archive (absolute path or '..'); the archive was refused.")];
                }
                if (IsJunk(name)) continue;
                total += entry.Length;
                if (total > MaxUncompressedBytes)
                {
                    return [new DatasetProblem("(archive)", $"The archive unpacks to more than {MaxUncompressedBytes >> 30} GiB; split it into smaller datasets.")];
                }
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await using var input = entry.Open();
                await using var output = File.Create(target);
                await input.CopyToAsync(output, ct);
            }
            return [];
        }
        catch (InvalidDataException e)
        {
            return [new DatasetProblem("(archive)", $"The upload is not a readable .zip archive ({e.Message}). Create it with 'zip -r data.zip images masks'.")];
        }
        finally
        {
            File.Delete(spool);
        }
    }

    private static bool IsJunk(string name) =>
        name.StartsWith("__MACOSX/", StringComparison.Ordinal) ||
        name.Split('/').Any(part => part.StartsWith('.')) ||
        name.EndsWith("Thumbs.db", StringComparison.OrdinalIgnoreCase) ||
        name.EndsWith("desktop.ini", StringComparison.OrdinalIgnoreCase);
}
