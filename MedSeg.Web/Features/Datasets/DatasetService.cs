using System.Security.Cryptography;
using System.Text;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
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
public sealed class DatasetService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, IOptions<LimitsOptions> limits,
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
    /// caller's <see cref="StagedUpload"/> removes the staging folder).
    /// </summary>
    /// <param name="classes">A class map the user supplied (the multipart field <c>classes</c>), or null for the default: names
    /// "label k", and colours from the palette, or a colour mask's own colours.</param>
    public async Task<IngestResult> IngestZipAsync(string name, StagedFile zip, string staging, UserContext user, CancellationToken ct = default,
        IReadOnlyList<ClassEntry>? classes = null)
    {
        var upload = Path.Combine(staging, "upload");
        var problems = await ZipExtractor.ExtractAsync(zip.Path, zip.FileName, upload, limits.Value, ct);
        File.Delete(zip.Path); // unpacked or refused: its space is free again
        if (problems.Count > 0) return new IngestResult(null, problems);
        if (await quotas.CheckStorageAsync(user, ArtifactStore.SizeOf(upload), ct) is { } overQuota) return new IngestResult(null, [], overQuota);
        if (VolumesIn(upload) is { } volume)
        {
            return new IngestResult(null, [new DatasetProblem(volume,
                "this archive holds NIfTI volumes (.nii/.nii.gz, the Decathlon or nnU-Net layout); the web app cannot import " +
                "volumes yet. Upload 2D images (PNG, JPEG, TIFF, BMP) in images/ with their masks in masks/; nothing was stored.")]);
        }
        var started = DateTime.UtcNow;
        // Binary masks and label maps (0 … K − 1) alike. An image's several masks are united into staging, beside the upload,
        // and colour masks mapped to label maps there (one colour one label, by the supplied map's colours when there is
        // one); both are committed like any other mask.
        var united = Path.Combine(staging, "united-masks");
        // A supplied map is checked on its own first (values 0 … n − 1, names, colours), then against the masks' classes.
        if (classes is not null && ClassMap.Check(classes, classes.Count <= 2 ? 1 : classes.Count) is { } badSupplied)
            return new IngestResult(null, [new DatasetProblem("classes", badSupplied)]);
        var colourTable = classes?.OrderBy(c => c.Value).Select(c => ColourMaskMapper.Parse(c.Colour) ?? -1).ToList();
        var colourMasks = new ColourMaskOptions(Path.Combine(staging, "colour-masks"), colourTable);
        var report = await Task.Run(() => DatasetScanner.Scan(upload, allowLabelMaps: true, limits.Value.Images, united, colourMasks, ct), ct);
        logger.LogInformation("Scanned upload '{Name}': {Pairs} pairs, {Classes} classes, {Problems} problems in {Seconds:F1} s",
            name, report.Pairs.Count, report.Classes, report.Problems.Count, (DateTime.UtcNow - started).TotalSeconds);
        if (report.Problems.Count > 0) return new IngestResult(null, report.Problems);
        var classMap = classes ?? WithColours(ClassMap.Default(report.Classes), report.ClassColours);
        if (ClassMap.Check(classMap, report.Classes) is { } badMap) return new IngestResult(null, [new DatasetProblem("classes", badMap)]);
        if (report.Pairs.Count == 0)
        {
            return new IngestResult(null, [new DatasetProblem(zip.FileName,
                "No image/mask pairs were found. Put images in images/ and masks with the same file name in masks/, " +
                "or each mask beside its image named with a suffix such as _mask (benign/a.png and benign/a_mask.png).")]);
        }
        return new IngestResult(await CommitAsync(name, report.Pairs, staging, user, ct, report.Classes, classMap), []);
    }

    /// <summary>The default map with the colours the colour masks used (label k had colour k), where there were colour masks.</summary>
    private static IReadOnlyList<ClassEntry> WithColours(IReadOnlyList<ClassEntry> map, IReadOnlyList<string>? colours) =>
        colours is null || colours.Count != map.Count ? map : [.. map.Select(c => c with { Colour = colours[c.Value] })];

    /// <summary>Replaces a dataset's class map (names and colours; the values stay those its masks hold). Checked by
    /// <see cref="ClassMap.Check"/>; only its owner or an admin may change it.</summary>
    public async Task<ClassMapResult> SetClassesAsync(Guid id, IReadOnlyList<ClassEntry> classes, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var d = await Access.Datasets(db, user).AsTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (d is null) return new ClassMapResult(ManageResult.NotFound, null);
        if (!user.CanManage(d.OwnerId)) return new ClassMapResult(ManageResult.Forbidden, null);
        if (classes.Any(c => c is null)) return new ClassMapResult(ManageResult.Done, null, "classes: an entry is null; send {value, name, colour} for every class.");
        if (ClassMap.Check(classes, d.Classes) is { } problem) return new ClassMapResult(ManageResult.Done, null, problem);
        var map = classes.OrderBy(c => c.Value).Select(c => c with { Name = c.Name.Trim(), Colour = c.Colour.ToLowerInvariant() }).ToList();
        d.ClassMapJson = ClassMap.Serialize(map);
        await db.SaveChangesAsync(ct);
        // Renditions paint labels in the class colours: the cached ones are stale now.
        TryDelete(Path.Combine(store.DatasetDirectory(id), "renditions"));
        await audit.WriteAsync(user, new AuditRecord(AuditActions.DatasetClasses, "dataset", id.ToString(),
            $"{d.Name}: {string.Join(", ", map.Select(c => $"{c.Value} {c.Name} {c.Colour}"))}"));
        return new ClassMapResult(ManageResult.Done, map);
    }

    private async Task<DatasetSummary> CommitAsync(string name, IReadOnlyList<ScannedPair> pairs, string staging, UserContext user, CancellationToken ct,
        int classes = 1, IReadOnlyList<ClassEntry>? classMap = null)
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
            Channels = pairs.GroupBy(p => p.Channels).OrderByDescending(g => g.Count()).First().Key,
            MinWidth = pairs.Min(p => p.Width),
            MaxWidth = pairs.Max(p => p.Width),
            MinHeight = pairs.Min(p => p.Height),
            MaxHeight = pairs.Max(p => p.Height),
            MeanForeground = pairs.Average(p => p.ForegroundFraction),
            ContentHash = ContentHash(pairs),
            Classes = classes,
            ClassMapJson = ClassMap.Serialize(classMap ?? ClassMap.Default(classes)),
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
            });
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
        var colours = await ClassColoursAsync(datasetId, ct);
        var png = await Task.Run(() => rendition switch
        {
            CaseRendition.Image => ImageRendering.ImagePng(image, size),
            CaseRendition.Mask => ImageRendering.MaskPng(mask, size, colours),
            _ => ImageRendering.OverlayPng(image, mask, size, colours),
        }, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
        var temp = cache + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, png, ct);
        File.Move(temp, cache, overwrite: true);
        return png;
    }

    /// <summary>The class colours renditions paint a dataset's labels in: null for a binary dataset (amber, as always), the
    /// class map's colours (label 0 … K − 1) for a label map.</summary>
    internal async Task<IReadOnlyList<string>?> ClassColoursAsync(Guid datasetId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var d = await db.Datasets.AsNoTracking().Where(x => x.Id == datasetId).Select(x => new { x.Classes, x.ClassMapJson }).FirstOrDefaultAsync(ct);
        return d is null || d.Classes <= 1 ? null : [.. ClassMap.Parse(d.ClassMapJson, d.Classes).OrderBy(c => c.Value).Select(c => c.Colour)];
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

    /// <summary>The first NIfTI file (relative path) in an unpacked upload, or null: volumes get their own refusal rather
    /// than one "not an image" per file.</summary>
    private static string? VolumesIn(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".nii", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Order(StringComparer.Ordinal).FirstOrDefault();

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
