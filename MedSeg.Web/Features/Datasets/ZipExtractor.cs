using System.Buffers.Binary;
using System.IO.Compression;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;

namespace MedSeg.Web.Features.Datasets;

/// <summary>
/// Unpacks an uploaded archive safely: no path escapes, no junk (macOS forks, hidden files), and no archive bombs. Before
/// anything is unpacked: the entry count is read from the central directory (<see cref="LimitsOptions.MaxZipEntries"/>),
/// the declared sizes must fit <see cref="LimitsOptions.MaxUnpackedBytes"/> and the free disk space less
/// <see cref="LimitsOptions.MinFreeDiskBytes"/>, and no large entry may have an absurd compression ratio. While unpacking,
/// the bytes actually written are counted: an entry that grows past its declared size, or past the budget, stops the upload.
/// </summary>
public static class ZipExtractor
{
    private const int EndOfCentralDirectorySignature = 0x06054b50;
    private const int Zip64LocatorSignature = 0x07064b50;
    private const int Zip64EndSignature = 0x06064b50;
    private const int CentralHeaderSignature = 0x02014b50;

    /// <param name="zipPath">The uploaded archive, already on disk.</param>
    /// <param name="archiveName">The name the user gave it, for the problems that concern the whole archive.</param>
    /// <param name="progress">Called after each entry is written, with (entries written, entries to write); null = none.</param>
    public static async Task<IReadOnlyList<DatasetProblem>> ExtractAsync(string zipPath, string archiveName, string destination,
        LimitsOptions limits, CancellationToken ct, Action<int, int>? progress = null)
    {
        Directory.CreateDirectory(destination);
        var root = Path.GetFullPath(destination).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        try
        {
            await using (var file = File.OpenRead(zipPath))
            {
                var count = CountEntries(file, limits.MaxZipEntries);
                if (count > limits.MaxZipEntries)
                {
                    return [new DatasetProblem(archiveName,
                        $"the archive lists {(count == long.MaxValue ? "more than " + limits.MaxZipEntries.ToString("N0", Inv) : count.ToString("N0", Inv))} entries; " +
                        $"at most {limits.MaxZipEntries.ToString("N0", Inv)} are accepted (MedSeg:Limits:MaxZipEntries). Split the dataset into several archives.")];
                }
            }

            using var archive = ZipFile.OpenRead(zipPath);
            var files = new List<(ZipArchiveEntry Entry, string Target)>();
            long declared = 0;
            foreach (var entry in archive.Entries)
            {
                var name = entry.FullName.Replace('\\', '/');
                if (name.EndsWith('/')) continue;
                var target = Path.GetFullPath(Path.Combine(root, name));
                if (!target.StartsWith(root, StringComparison.Ordinal) || name.Split('/').Contains(".."))
                {
                    return [new DatasetProblem(name, "This entry points outside the archive (absolute path or '..'); the archive was refused.")];
                }
                if (IsJunk(name)) continue;
                if (entry.Length > limits.CompressionRatioMinBytes && entry.Length > limits.MaxCompressionRatio * Math.Max(1, entry.CompressedLength))
                {
                    return [new DatasetProblem(name,
                        $"the entry unpacks to {Format.Bytes(entry.Length)} from {Format.Bytes(entry.CompressedLength)} " +
                        $"({(entry.Length / (double)Math.Max(1, entry.CompressedLength)).ToString("F0", Inv)}:1); entries above {Format.Bytes(limits.CompressionRatioMinBytes)} " +
                        $"may be compressed at most {limits.MaxCompressionRatio.ToString("0.#", Inv)}:1 (MedSeg:Limits:MaxCompressionRatio), so this looks like an archive bomb. " +
                        "Images are compressed already: remove the entry, or save the image as PNG, and zip again.")];
                }
                declared += entry.Length;
                files.Add((entry, target));
            }

            var budget = Budget(destination, limits, out var budgetProblem);
            if (declared > budget)
            {
                return [new DatasetProblem(archiveName, $"the archive unpacks to {Format.Bytes(declared)}; {budgetProblem}")];
            }

            long written = 0;
            var buffer = new byte[81920];
            var entriesWritten = 0;
            progress?.Invoke(0, files.Count);
            foreach (var (entry, target) in files)
            {
                ct.ThrowIfCancellationRequested();
                if (entriesWritten > 0) progress?.Invoke(entriesWritten, files.Count);
                entriesWritten++;
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await using var input = entry.Open();
                await using var output = File.Create(target);
                long entryBytes = 0;
                int read;
                while ((read = await input.ReadAsync(buffer, ct)) > 0)
                {
                    entryBytes += read;
                    written += read;
                    // The central directory's sizes are the client's word: count what is actually written.
                    if (entryBytes > entry.Length)
                    {
                        return [new DatasetProblem(entry.FullName,
                            $"the entry unpacks to more than the {Format.Bytes(entry.Length)} its header declares; the archive is corrupt or crafted. " +
                            "Create it again with 'zip -r data.zip images masks'.")];
                    }
                    if (written > budget)
                    {
                        return [new DatasetProblem(archiveName, $"the archive unpacks to more than {Format.Bytes(budget)}; {budgetProblem}")];
                    }
                    await output.WriteAsync(buffer.AsMemory(0, read), ct);
                }
            }
            progress?.Invoke(files.Count, files.Count);
            return [];
        }
        catch (InvalidDataException e)
        {
            return [new DatasetProblem(archiveName, $"The upload is not a readable .zip archive ({e.Message}). Create it with 'zip -r data.zip images masks'.")];
        }
    }

    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;

    /// <summary>How many bytes this upload may unpack to: the configured maximum, or the free space at the destination
    /// less the margin when that is smaller; <paramref name="problem"/> says which and what to do.</summary>
    private static long Budget(string destination, LimitsOptions limits, out string problem)
    {
        var free = new DriveInfo(Path.GetFullPath(destination)).AvailableFreeSpace;
        var room = Math.Max(0, free - limits.MinFreeDiskBytes);
        if (room < limits.MaxUnpackedBytes)
        {
            problem = $"the server has {Format.Bytes(free)} of free disk space and keeps {Format.Bytes(limits.MinFreeDiskBytes)} free " +
                      "(MedSeg:Limits:MinFreeDiskBytes), so an upload may unpack to at most " +
                      $"{Format.Bytes(room)} now. Upload a smaller archive, or ask the administrator to free disk space.";
            return room;
        }
        problem = $"at most {Format.Bytes(limits.MaxUnpackedBytes)} are accepted (MedSeg:Limits:MaxUnpackedBytes). Split the dataset into several archives.";
        return limits.MaxUnpackedBytes;
    }

    /// <summary>
    /// The number of entries in the central directory, counted by walking its headers (never more than
    /// <paramref name="max"/> + 1 of them, so a huge directory costs no memory): <see cref="long.MaxValue"/> when there are
    /// more than <paramref name="max"/>. The count in the end record must match. Throws <see cref="InvalidDataException"/>
    /// when the file is not a zip archive.
    /// </summary>
    internal static long CountEntries(FileStream file, int max)
    {
        var (declared, offset, size) = ReadEndRecord(file);
        if (declared > max) return declared;
        if (offset < 0 || size < 0 || offset + size > file.Length) throw new InvalidDataException("the central directory lies outside the file");
        file.Position = offset;
        using var reader = new BinaryReader(new BufferedStream(file, 1 << 16), System.Text.Encoding.UTF8, leaveOpen: true);
        long count = 0;
        long position = 0;
        try
        {
            while (position + 46 <= size)
            {
                if (reader.ReadInt32() != CentralHeaderSignature) break;
                reader.BaseStream.Seek(24, SeekOrigin.Current);
                var variable = reader.ReadUInt16() + reader.ReadUInt16() + reader.ReadUInt16();
                reader.BaseStream.Seek(12 + variable, SeekOrigin.Current);
                position += 46 + variable;
                if (++count > max) return long.MaxValue;
            }
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException("the central directory ends early");
        }
        if (count != declared) throw new InvalidDataException($"the central directory holds {count} entries but its end record says {declared}");
        return count;
    }

    /// <summary>Entry count, offset and size of the central directory from the end record (zip64 when the classic one overflows).</summary>
    private static (long Entries, long Offset, long Size) ReadEndRecord(FileStream file)
    {
        var tailLength = (int)Math.Min(file.Length, 22 + 65535);
        if (tailLength < 22) throw new InvalidDataException("the file is too short to be a zip archive");
        var tail = new byte[tailLength];
        file.Position = file.Length - tailLength;
        file.ReadExactly(tail);
        var at = -1;
        for (var i = tailLength - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadInt32LittleEndian(tail.AsSpan(i)) == EndOfCentralDirectorySignature) { at = i; break; }
        }
        if (at < 0) throw new InvalidDataException("no end of central directory record was found");
        long entries = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(at + 10));
        long size = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at + 12));
        long offset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(at + 16));
        if (entries != 0xFFFF && size != 0xFFFFFFFF && offset != 0xFFFFFFFF) return (entries, offset, size);

        var locatorAt = file.Length - tailLength + at - 20;
        if (locatorAt < 0) throw new InvalidDataException("the zip64 end record is missing");
        var locator = new byte[20];
        file.Position = locatorAt;
        file.ReadExactly(locator);
        if (BinaryPrimitives.ReadInt32LittleEndian(locator) != Zip64LocatorSignature) throw new InvalidDataException("the zip64 end record is missing");
        var endAt = BinaryPrimitives.ReadInt64LittleEndian(locator.AsSpan(8));
        if (endAt < 0 || endAt + 56 > file.Length) throw new InvalidDataException("the zip64 end record lies outside the file");
        var end = new byte[56];
        file.Position = endAt;
        file.ReadExactly(end);
        if (BinaryPrimitives.ReadInt32LittleEndian(end) != Zip64EndSignature) throw new InvalidDataException("the zip64 end record is corrupt");
        return (BinaryPrimitives.ReadInt64LittleEndian(end.AsSpan(32)), BinaryPrimitives.ReadInt64LittleEndian(end.AsSpan(48)),
            BinaryPrimitives.ReadInt64LittleEndian(end.AsSpan(40)));
    }

    private static bool IsJunk(string name) =>
        name.StartsWith("__MACOSX/", StringComparison.Ordinal) ||
        name.Split('/').Any(part => part.StartsWith('.')) ||
        name.EndsWith("Thumbs.db", StringComparison.OrdinalIgnoreCase) ||
        name.EndsWith("desktop.ini", StringComparison.OrdinalIgnoreCase);
}
