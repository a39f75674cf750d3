using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Datasets;

/// <summary>The one rule of which cases a version holds: added in it or before, and not removed by it.</summary>
public static class DatasetVersions
{
    public static IQueryable<DatasetCase> CasesOf(MedSegDbContext db, Guid datasetId, int version) =>
        db.DatasetCases.AsNoTracking().Where(c => c.DatasetId == datasetId && c.AddedInVersion <= version
                                                  && (c.RemovedInVersion == null || c.RemovedInVersion > version));
}

/// <summary>
/// Adding and removing cases. Each change makes a new immutable version; files are never deleted (older versions and the
/// experiments pinned to them still use them), so a removed case keeps its files and an added case gets its own folder
/// (<c>images/v&lt;n&gt;-&lt;nonce&gt;/</c>), even when it reuses a name removed earlier.
/// </summary>
public sealed partial class DatasetService
{
    /// <summary>
    /// Adds the cases of an uploaded zip as a new version: unpacked and validated by the upload's pipeline (same formats,
    /// limits and pairing); a name the latest version already holds is a problem naming the file. Refused: nothing stored.
    /// </summary>
    public async Task<VersionResult> AddCasesAsync(Guid datasetId, StagedFile zip, string staging, string? note, UserContext user, CancellationToken ct = default)
    {
        await using (var check = await contexts.CreateDbContextAsync(ct))
        {
            var owner = await Access.Datasets(check, user).Where(d => d.Id == datasetId).Select(d => d.OwnerId).FirstOrDefaultAsync(ct);
            if (owner is null) return new VersionResult(null, [], NotFound: true);
            if (!user.CanManage(owner)) return new VersionResult(null, [], Forbidden: true);
        }
        var scan = await ScanZipAsync(zip.FileName, zip, staging, user, ct);
        if (scan.VolumeRoot is not null)
        {
            return new VersionResult(null, [new DatasetProblem(zip.FileName,
                "this archive holds NIfTI volumes; volumes cannot be added to an existing dataset yet. Upload them as a new dataset " +
                "together with the volumes it holds (the export gives them back: Export (nnU-Net) on the dataset page); nothing was stored.")]);
        }
        if (scan.Pairs is not { } pairs) return new VersionResult(null, scan.Problems, scan.OverQuota);

        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await db.Datasets.AsTracking().FirstAsync(d => d.Id == datasetId, ct);
        var latest = await DatasetVersions.CasesOf(db, datasetId, dataset.Version).ToListAsync(ct);
        var byName = latest.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var upload = Path.Combine(staging, "upload");
        var problems = new List<DatasetProblem>();
        foreach (var pair in pairs.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            if (!byName.TryGetValue(pair.Name, out var existing)) continue;
            var file = Path.GetRelativePath(upload, pair.ImagePath).Replace('\\', '/');
            problems.Add(new DatasetProblem(file, existing.ImageSha256 == pair.ImageSha256 && existing.MaskSha256 == pair.MaskSha256
                ? $"case '{pair.Name}' is already in version {dataset.Version} with this same image and mask; leave it out of the archive."
                : $"a case named '{pair.Name}' is already in version {dataset.Version} with other content; rename the file, or remove " +
                  "that case first (POST /api/datasets/{id}/cases/remove)."));
        }
        if (problems.Count > 0) return new VersionResult(null, problems);

        var number = dataset.Version + 1;
        // Own folders for this version's files: a name removed earlier keeps its old files beside the new ones.
        var folder = $"v{number}-{Guid.NewGuid():N}"[..12];
        var layout = Path.Combine(staging, "version");
        Directory.CreateDirectory(Path.Combine(layout, "images", folder));
        Directory.CreateDirectory(Path.Combine(layout, "masks", folder));
        long bytes = 0;
        var added = new List<DatasetCase>();
        foreach (var pair in pairs.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var image = $"images/{folder}/{pair.Name}{Path.GetExtension(pair.ImagePath)}";
            var mask = $"masks/{folder}/{pair.Name}{Path.GetExtension(pair.MaskPath)}";
            File.Move(pair.ImagePath, Path.Combine(layout, image));
            File.Move(pair.MaskPath, Path.Combine(layout, mask));
            bytes += new FileInfo(Path.Combine(layout, image)).Length + new FileInfo(Path.Combine(layout, mask)).Length;
            var row = NewCase(pair, image, mask, number);
            row.DatasetId = datasetId;
            added.Add(row);
        }
        var target = store.DatasetDirectory(datasetId);
        var moved = new List<string>();
        try
        {
            foreach (var kind in new[] { "images", "masks" })
            {
                Directory.CreateDirectory(Path.Combine(target, kind));
                Directory.Move(Path.Combine(layout, kind, folder), Path.Combine(target, kind, folder));
                moved.Add(Path.Combine(target, kind, folder));
            }
            db.DatasetCases.AddRange(added);
            dataset.SizeBytes += bytes;
            var version = NewVersion(dataset, [.. latest, .. added], number,
                string.IsNullOrWhiteSpace(note) ? $"+{added.Count} cases from {zip.FileName}" : note.Trim(), user);
            db.DatasetVersions.Add(version);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is DbUpdateException or IOException)
        {
            moved.ForEach(TryDelete);
            if (e is IOException) throw;
            return new VersionResult(null, [Raced(zip.FileName, number)]);
        }
        logger.LogInformation("Dataset {Id} version {Version}: +{Added} cases", datasetId, number, added.Count);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.DatasetVersion, "dataset", datasetId.ToString(),
            $"{dataset.Name} version {number}: +{added.Count} cases, {Format.Bytes(bytes)}"));
        fingerprints.Enqueue(datasetId); // the new version's fingerprint, after this request has answered
        return new VersionResult(new VersionCreated(datasetId, number, dataset.CaseCount, dataset.ContentHash, added.Count, 0), []);
    }

    /// <summary>Removes cases of the latest version as a new version; their rows and files stay for the older versions.
    /// Problems name the field <c>caseIds</c>.</summary>
    public async Task<VersionResult> RemoveCasesAsync(Guid datasetId, RemoveCasesRequest request, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await Access.Datasets(db, user).AsTracking().FirstOrDefaultAsync(d => d.Id == datasetId, ct);
        if (dataset is null) return new VersionResult(null, [], NotFound: true);
        if (!user.CanManage(dataset.OwnerId)) return new VersionResult(null, [], Forbidden: true);
        var ids = (request.CaseIds ?? []).Distinct().ToList();
        if (ids.Count == 0)
        {
            return new VersionResult(null, [new DatasetProblem("caseIds", "List the ids of the cases to remove (GET /api/datasets/{id}/cases); nothing was changed.")]);
        }
        var latest = await DatasetVersions.CasesOf(db, datasetId, dataset.Version).AsTracking().ToListAsync(ct);
        var doomed = latest.Where(c => ids.Contains(c.Id)).ToList();
        var unknown = ids.Except(doomed.Select(c => c.Id)).ToList();
        if (unknown.Count > 0)
        {
            return new VersionResult(null, [new DatasetProblem("caseIds",
                $"{unknown.Count} id(s) are no case of version {dataset.Version} of this dataset (removed earlier, or of another dataset): " +
                $"{string.Join(", ", unknown.Take(5))}{(unknown.Count > 5 ? $" and {unknown.Count - 5} more" : "")}; nothing was changed.")]);
        }
        if (doomed.Count == latest.Count)
        {
            return new VersionResult(null, [new DatasetProblem("caseIds",
                "A version needs at least one case: keep one, or delete the dataset instead; nothing was changed.")]);
        }
        var number = dataset.Version + 1;
        foreach (var c in doomed) c.RemovedInVersion = number;
        var kept = latest.Except(doomed).ToList();
        var names = string.Join(", ", doomed.Select(c => c.Name).Order(StringComparer.Ordinal).Take(5)) + (doomed.Count > 5 ? $" and {doomed.Count - 5} more" : "");
        db.DatasetVersions.Add(NewVersion(dataset, kept, number,
            string.IsNullOrWhiteSpace(request.Note) ? $"−{doomed.Count} cases ({names})" : request.Note.Trim(), user));
        try
        {
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (DbUpdateException)
        {
            return new VersionResult(null, [Raced("caseIds", number)]);
        }
        await audit.WriteAsync(user, new AuditRecord(AuditActions.DatasetVersion, "dataset", datasetId.ToString(),
            $"{dataset.Name} version {number}: −{doomed.Count} cases ({names})"));
        fingerprints.Enqueue(datasetId);
        return new VersionResult(new VersionCreated(datasetId, number, dataset.CaseCount, dataset.ContentHash, 0, doomed.Count), []);
    }

    /// <summary>The version row of <paramref name="cases"/>, with the dataset's columns moved to it (size on disk aside: files stay).</summary>
    private static DatasetVersion NewVersion(Dataset dataset, IReadOnlyList<DatasetCase> cases, int number, string note, UserContext user)
    {
        dataset.Version = number;
        dataset.CaseCount = cases.Count;
        dataset.ContentHash = ContentHash(cases.Select(c => (c.Name, c.ImageSha256, c.MaskSha256)));
        dataset.MinWidth = cases.Min(c => c.Width);
        dataset.MaxWidth = cases.Max(c => c.Width);
        dataset.MinHeight = cases.Min(c => c.Height);
        dataset.MaxHeight = cases.Max(c => c.Height);
        dataset.MeanForeground = cases.Average(c => c.ForegroundFraction);
        return new DatasetVersion
        {
            Id = Guid.NewGuid(),
            DatasetId = dataset.Id,
            Number = number,
            ContentHash = dataset.ContentHash,
            CaseCount = cases.Count,
            Note = note.Length <= 1000 ? note : note[..1000],
            CreatedById = user.UserId,
        };
    }

    private static DatasetProblem Raced(string file, int number) => new(file,
        $"another change to this dataset made version {number} meanwhile; nothing was stored. Look at the dataset again and retry.");

    internal static SavedSplitSummary ToSplitSummary(SavedSplit s, IReadOnlyDictionary<string, string> names) =>
        new(s.Id, s.Name, s.Version, s.Kind, s.Seed, s.ValidationFraction, s.GroupPattern, s.TestFraction, s.Groups,
            SplitAssignment.Parse(s.AssignmentJson).Counts, s.CreatedAt, People.Of(names, s.CreatedById));
}
