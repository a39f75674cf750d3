using System.Security.Cryptography;
using System.Text;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Datasets;

/// <summary>Datasets: upload (validate everything, then commit one immutable version), list, browse cases.</summary>
public sealed partial class DatasetService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, IOptions<LimitsOptions> limits,
    AuditLog audit, QuotaService quotas, ILogger<DatasetService> logger)
{
    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await Visible(db, user).OrderByDescending(d => d.CreatedAt).ToListAsync(ct);
        var names = await People.NamesAsync(db, rows.Select(d => d.OwnerId), ct);
        return [.. rows.Select(d => ToSummary(d, names, user))];
    }

    public async Task<DatasetSummary?> GetAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await Visible(db, user).FirstOrDefaultAsync(d => d.Id == id, ct) is not { } d) return null;
        return ToSummary(d, await People.NamesAsync(db, [d.OwnerId], ct), user);
    }

    public async Task<IReadOnlyList<DatasetCaseSummary>> ListCasesAsync(Guid datasetId, UserContext user, int skip, int take, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Visible(db, user).AnyAsync(d => d.Id == datasetId, ct)) return [];
        return await db.DatasetCases.Where(c => c.DatasetId == datasetId)
            .OrderBy(c => c.Name).Skip(skip).Take(take)
            .Select(c => new DatasetCaseSummary(c.Id, c.Name, c.Width, c.Height, c.ForegroundFraction))
            .ToListAsync(ct);
    }

    /// <summary>
    /// Unpacks the uploaded zip inside its staging folder, validates every pair, and only then moves the files into the
    /// dataset folder and commits the rows in one transaction. A refused upload leaves no row and no file behind (the
    /// caller's <see cref="StagedUpload"/> removes the staging folder). An archive of NIfTI volumes (a dataset.json, or
    /// .nii/.nii.gz files) is imported as a volume dataset, cut as <paramref name="volumes"/> says (default: auto axis,
    /// every empty slice kept).
    /// </summary>
    public async Task<IngestResult> IngestZipAsync(string name, StagedFile zip, string staging, UserContext user, CancellationToken ct = default,
        VolumeImportOptions? volumes = null)
    {
        var upload = Path.Combine(staging, "upload");
        var problems = await ZipExtractor.ExtractAsync(zip.Path, zip.FileName, upload, limits.Value, ct);
        File.Delete(zip.Path); // unpacked or refused: its space is free again
        if (problems.Count > 0) return new IngestResult(null, problems);
        if (await quotas.CheckStorageAsync(user, ArtifactStore.SizeOf(upload), ct) is { } overQuota) return new IngestResult(null, [], overQuota);
        if (VolumeDatasetRoot(upload) is { } volumeRoot)
            return await IngestVolumesAsync(name, upload, volumeRoot, staging, user, volumes ?? VolumeImportOptions.Default, ct);
        var started = DateTime.UtcNow;
        // The web trains binary models: a label map is refused by name (never binarised). An image's several masks are
        // united into staging, beside the upload, and committed like any other mask.
        var united = Path.Combine(staging, "united-masks");
        var report = await Task.Run(() => DatasetScanner.Scan(upload, allowLabelMaps: false, limits.Value.Images, united, ct), ct);
        logger.LogInformation("Scanned upload '{Name}': {Pairs} pairs, {Problems} problems in {Seconds:F1} s",
            name, report.Pairs.Count, report.Problems.Count, (DateTime.UtcNow - started).TotalSeconds);
        if (report.Problems.Count > 0) return new IngestResult(null, report.Problems);
        if (report.Pairs.Count == 0)
        {
            return new IngestResult(null, [new DatasetProblem(zip.FileName,
                "No image/mask pairs were found. Put images in images/ and masks with the same file name in masks/, " +
                "or each mask beside its image named with a suffix such as _mask (benign/a.png and benign/a_mask.png).")]);
        }
        return new IngestResult(await CommitAsync(name, report.Pairs, staging, user, ct), []);
    }

    private async Task<DatasetSummary> CommitAsync(string name, IReadOnlyList<ScannedPair> pairs, string staging, UserContext user, CancellationToken ct,
        int classes = 1, IReadOnlyList<ClassEntry>? classMap = null, VolumeCommit? volumes = null)
    {
        var id = Guid.NewGuid();
        // Lay the files out in staging first, then move the folder into place in one rename.
        var layout = Path.Combine(staging, "dataset");
        Directory.CreateDirectory(Path.Combine(layout, "images"));
        Directory.CreateDirectory(Path.Combine(layout, "masks"));
        var dataset = new Dataset
        {
            Id = id,
            Name = string.IsNullOrWhiteSpace(name) ? "dataset" : name.Trim()[..Math.Min(200, name.Trim().Length)],
            OwnerId = user.UserId,
            CaseCount = pairs.Count,
            Channels = volumes?.Channels ?? pairs.GroupBy(p => p.Channels).OrderByDescending(g => g.Count()).First().Key,
            MinWidth = pairs.Min(p => p.Width),
            MaxWidth = pairs.Max(p => p.Width),
            MinHeight = pairs.Min(p => p.Height),
            MaxHeight = pairs.Max(p => p.Height),
            MeanForeground = pairs.Average(p => p.ForegroundFraction),
            ContentHash = ContentHash(pairs),
            Classes = classes,
            ClassMapJson = ClassMap.Serialize(classMap ?? ClassMap.Default(classes)),
            Source = volumes is null ? "images" : VolumeSource.SourceName,
            SourceJson = volumes?.Source.Serialize(),
        };
        dataset.Versions.Add(new DatasetVersion
        {
            Id = Guid.NewGuid(),
            Number = 1,
            ContentHash = dataset.ContentHash,
            CaseCount = pairs.Count,
            Note = $"first upload ({pairs.Count} cases)",
            CreatedById = user.UserId,
        });
        long bytes = 0;
        foreach (var pair in pairs.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            // Laid out as images/<name>.ext and masks/<name>.ext whatever the upload's folders and mask suffixes were:
            // names are unique in a scan, so no two cases meet (BUSI's class folders, a_mask.png, a united a.png).
            var image = "images/" + pair.Name + Path.GetExtension(pair.ImagePath);
            var mask = "masks/" + pair.Name + Path.GetExtension(pair.MaskPath);
            File.Move(pair.ImagePath, Path.Combine(layout, image));
            File.Move(pair.MaskPath, Path.Combine(layout, mask));
            bytes += new FileInfo(Path.Combine(layout, image)).Length + new FileInfo(Path.Combine(layout, mask)).Length;
            var slice = volumes?.Slices[pair.Name];
            dataset.Cases.Add(new DatasetCase
            {
                Id = Guid.NewGuid(),
                Name = pair.Name,
                ImagePath = image,
                MaskPath = mask,
                Width = pair.Width,
                Height = pair.Height,
                ForegroundFraction = pair.ForegroundFraction,
                ImageSha256 = pair.ImageSha256,
                MaskSha256 = pair.MaskSha256,
                LabelsPresent = (int)(pair.LabelSet | (pair.ForegroundFraction < 1 ? 1u : 0u)),
                AddedInVersion = 1,
                GroupKey = slice?.GroupKey,
                SliceIndex = slice?.SliceIndex,
                SpacingX = slice?.SpacingX,
                SpacingY = slice?.SpacingY,
            });
        }
        if (volumes is not null)
        {
            Directory.Move(volumes.KeptFolder, Path.Combine(layout, VolumeSource.Folder));
            bytes += ArtifactStore.SizeOf(Path.Combine(layout, VolumeSource.Folder));
        }
        dataset.SizeBytes = bytes;

        var target = store.DatasetDirectory(id);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Directory.Move(layout, target);
        try
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            db.Datasets.Add(dataset);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch
        {
            TryDelete(target);
            throw;
        }
        logger.LogInformation("Dataset {Id} '{Name}' committed with {Cases} cases", id, dataset.Name, dataset.CaseCount);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.DatasetUpload, "dataset", id.ToString(),
            $"{dataset.Name}: {dataset.CaseCount} cases, {Format.Bytes(bytes)}"));
        return ToSummary(dataset, new Dictionary<string, string> { [user.UserId] = user.Name }, user);
    }

    /// <summary>A PNG rendition of a case for the browser; null when the case is not visible to the user.</summary>
    public async Task<byte[]?> RenderCaseAsync(Guid datasetId, Guid caseId, CaseRendition rendition, int size, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var c = await CaseAsync(db, datasetId, caseId, user, ct);
        return c is null ? null : await RenderAsync(c, rendition, size, ct);
    }

    /// <summary>A rendition of a case the caller has already checked the user may see (through the dataset, or through an
    /// experiment on it that is shared with them); cached under the dataset's <c>renditions/</c>.</summary>
    internal async Task<byte[]> RenderAsync(DatasetCase c, CaseRendition rendition, int size, CancellationToken ct)
    {
        var datasetId = c.DatasetId;
        var caseId = c.Id;
        var folder = store.DatasetDirectory(datasetId);
        var cache = Path.Combine(folder, "renditions", $"{caseId:N}-{rendition.ToString().ToLowerInvariant()}-{size}.png");
        if (File.Exists(cache)) return await File.ReadAllBytesAsync(cache, ct);
        var image = ArtifactStore.Resolve(folder, c.ImagePath);
        var mask = ArtifactStore.Resolve(folder, c.MaskPath);
        var png = await Task.Run(() => rendition switch
        {
            CaseRendition.Image => ImageRendering.ImagePng(image, size),
            CaseRendition.Mask => ImageRendering.MaskPng(mask, size),
            _ => ImageRendering.OverlayPng(image, mask, size),
        }, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
        var temp = cache + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, png, ct);
        File.Move(temp, cache, overwrite: true);
        return png;
    }

    private static async Task<DatasetCase?> CaseAsync(MedSegDbContext db, Guid datasetId, Guid caseId, UserContext user, CancellationToken ct) =>
        await Access.Datasets(db, user).AnyAsync(d => d.Id == datasetId, ct)
            ? await db.DatasetCases.AsNoTracking().FirstOrDefaultAsync(c => c.Id == caseId && c.DatasetId == datasetId, ct)
            : null;

    /// <summary>Browser URL of a rendition of a case (PNG, longest side at most <paramref name="size"/>; 0 = original).</summary>
    public static string CaseUrl(Guid datasetId, Guid caseId, CaseRendition rendition, int size = 256) =>
        $"/api/datasets/{datasetId}/cases/{caseId}/{rendition.ToString().ToLowerInvariant()}.png?size={size}";

    private static IQueryable<Dataset> Visible(MedSegDbContext db, UserContext user) =>
        Access.Datasets(db, user).AsNoTracking();

    private static DatasetSummary ToSummary(Dataset d, IReadOnlyDictionary<string, string> names, UserContext user) =>
        new(d.Id, d.Name, d.CaseCount, d.CreatedAt, People.Of(names, d.OwnerId),
            d.MinWidth, d.MaxWidth, d.MinHeight, d.MaxHeight, d.Channels, d.MeanForeground, d.SizeBytes,
            d.OwnerId, user.Owns(d.OwnerId), user.CanManage(d.OwnerId))
        {
            Classes = d.Classes,
            ClassMap = ClassMap.Parse(d.ClassMapJson, d.Classes),
            Version = d.Version,
            Source = d.Source,
            Volumes = VolumeSource.Parse(d.SourceJson)?.Summary(),
        };

    private static string ContentHash(IEnumerable<ScannedPair> pairs)
    {
        var text = new StringBuilder();
        foreach (var p in pairs.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            text.Append(p.Name).Append('\t').Append(p.ImageSha256).Append('\t').Append(p.MaskSha256).Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete {Dir}; it is removed at the next start", dir);
        }
    }
}
