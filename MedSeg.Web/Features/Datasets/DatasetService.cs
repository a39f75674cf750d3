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

/// <summary>Datasets: upload (validate everything, then commit one immutable version), list, browse cases. Volume imports: DatasetService.Volumes.cs. Adding and
/// removing cases as new versions: DatasetService.Versions.cs.</summary>
public sealed partial class DatasetService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, IOptions<LimitsOptions> limits,
    AuditLog audit, QuotaService quotas, FingerprintService fingerprints, ILogger<DatasetService> logger)
{
    /// <summary>The visible datasets, each with its latest version's stored fingerprint (null where none is computed yet).</summary>
    public async Task<IReadOnlyList<DatasetSummary>> ListAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await Visible(db, user).OrderByDescending(d => d.CreatedAt).ToListAsync(ct);
        var ids = rows.Select(d => d.Id).ToList();
        // The launch form offers each dataset's saved splits.
        var splits = (await db.SavedSplits.AsNoTracking().Where(s => ids.Contains(s.DatasetId)).ToListAsync(ct))
            .OrderByDescending(s => s.CreatedAt).ToLookup(s => s.DatasetId);
        var names = await People.NamesAsync(db, rows.Select(d => d.OwnerId).Concat(splits.SelectMany(g => g).Select(s => s.CreatedById)), ct);
        var stored = (await db.DatasetVersions.AsNoTracking().Where(v => ids.Contains(v.DatasetId) && v.FingerprintJson != null)
                .Select(v => new { v.DatasetId, v.Number, v.FingerprintJson }).ToListAsync(ct))
            .ToLookup(v => (v.DatasetId, v.Number), v => v.FingerprintJson);
        return [.. rows.Select(d => ToSummary(d, names, user) with
        {
            Splits = [.. splits[d.Id].Select(s => ToSplitSummary(s, names))],
            Fingerprint = VersionFingerprint.Parse(stored[(d.Id, d.Version)].FirstOrDefault()),
        })];
    }

    /// <summary>The dataset with its latest version's stored fingerprint (null where none is computed yet; see
    /// <see cref="FingerprintAsync"/>).</summary>
    public async Task<DatasetSummary?> GetAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await Visible(db, user).FirstOrDefaultAsync(d => d.Id == id, ct) is not { } d) return null;
        var versions = (await db.DatasetVersions.AsNoTracking().Where(v => v.DatasetId == id).ToListAsync(ct)).OrderBy(v => v.Number).ToList();
        var splits = (await db.SavedSplits.AsNoTracking().Where(s => s.DatasetId == id).ToListAsync(ct)).OrderByDescending(s => s.CreatedAt).ToList();
        var names = await People.NamesAsync(db, [d.OwnerId, .. versions.Select(v => v.CreatedById), .. splits.Select(s => s.CreatedById)], ct);
        return ToSummary(d, names, user) with
        {
            Versions = [.. versions.Select(v => new DatasetVersionSummary(v.Number, v.ContentHash, v.CaseCount, v.Note, v.CreatedAt, People.Of(names, v.CreatedById)))],
            Splits = [.. splits.Select(s => ToSplitSummary(s, names))],
            Fingerprint = await FingerprintService.StoredAsync(db, d, ct),
        };
    }

    /// <summary>The fingerprint of the dataset's latest version, computed and stored now when it has none (datasets committed
    /// before fingerprints, or one still queued); null when the dataset is not visible to the user.</summary>
    public async Task<VersionFingerprint?> FingerprintAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            if (!await Visible(db, user).AnyAsync(d => d.Id == id, ct)) return null;
        }
        return await fingerprints.EnsureAsync(id, ct);
    }

    /// <summary>A page of the cases of one version (null = the latest), by name; empty when the dataset is not visible.</summary>
    public async Task<IReadOnlyList<DatasetCaseSummary>> ListCasesAsync(Guid datasetId, UserContext user, int skip, int take, CancellationToken ct = default,
        int? version = null) =>
        (await QueryCasesAsync(datasetId, user, CaseQuery.All with { Version = version }, skip, take, ct)).Cases;

    /// <summary>A page of a version's cases (the latest unless <see cref="CaseQuery.Version"/>) that match <paramref name="query"/>, and how many match in all (an
    /// empty page when the dataset is not visible to the user).</summary>
    public async Task<CasePage> QueryCasesAsync(Guid datasetId, UserContext user, CaseQuery query, int skip, int take, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Visible(db, user).AnyAsync(d => d.Id == datasetId, ct)) return new CasePage([], 0);
        if (await FilteredAsync(db, datasetId, query, ct) is not { } cases) return new CasePage([], 0);
        var total = await cases.CountAsync(ct);
        cases = query.Sort switch
        {
            CaseSort.ForegroundAscending => cases.OrderBy(c => c.ForegroundFraction).ThenBy(c => c.Name),
            CaseSort.ForegroundDescending => cases.OrderByDescending(c => c.ForegroundFraction).ThenBy(c => c.Name),
            _ => cases.OrderBy(c => c.Name),
        };
        var page = await cases.Skip(skip).Take(take)
            .Select(c => new DatasetCaseSummary(c.Id, c.Name, c.Width, c.Height, c.ForegroundFraction)
            {
                LabelsPresent = c.LabelsPresent,
                GroupKey = c.GroupKey,
                SliceIndex = c.SliceIndex,
            })
            .ToListAsync(ct);
        return new CasePage(page, total);
    }

    /// <summary>The position of a case in the order of <paramref name="query"/> (0-based), or -1 when it does not match.</summary>
    public async Task<int> IndexOfAsync(Guid datasetId, UserContext user, CaseQuery query, Guid caseId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Visible(db, user).AnyAsync(d => d.Id == datasetId, ct)) return -1;
        if (await FilteredAsync(db, datasetId, query, ct) is not { } cases) return -1;
        var item = await cases.Where(c => c.Id == caseId).Select(c => new { c.Name, c.ForegroundFraction }).FirstOrDefaultAsync(ct);
        if (item is null) return -1;
        // Names order ordinally in SQLite and by collation in SQL Server; the viewer's walk tolerates either.
        return query.Sort switch
        {
            CaseSort.ForegroundAscending => await cases.CountAsync(c => c.ForegroundFraction < item.ForegroundFraction
                || (c.ForegroundFraction == item.ForegroundFraction && c.Name.CompareTo(item.Name) < 0), ct),
            CaseSort.ForegroundDescending => await cases.CountAsync(c => c.ForegroundFraction > item.ForegroundFraction
                || (c.ForegroundFraction == item.ForegroundFraction && c.Name.CompareTo(item.Name) < 0), ct),
            _ => await cases.CountAsync(c => c.Name.CompareTo(item.Name) < 0, ct),
        };
    }

    /// <summary>The cases of a version of a dataset (the latest unless the query names one) that match the query's filters
    /// (not yet sorted); null when the query names a split or a version the dataset does not have.</summary>
    private static async Task<IQueryable<DatasetCase>?> FilteredAsync(MedSegDbContext db, Guid datasetId, CaseQuery query, CancellationToken ct)
    {
        var latest = await db.Datasets.Where(d => d.Id == datasetId).Select(d => d.Version).FirstAsync(ct);
        if (query.Version is int v && (v < 1 || v > latest)) return null;
        var cases = DatasetVersions.CasesOf(db, datasetId, query.Version ?? latest).AsNoTracking();
        if (query.Label is int label and >= 0 and <= 31)
        {
            var bit = 1 << label;
            cases = cases.Where(c => (c.LabelsPresent & bit) != 0);
        }
        if (query.Empty is bool empty) cases = empty ? cases.Where(c => c.ForegroundFraction == 0) : cases.Where(c => c.ForegroundFraction > 0);
        if (!string.IsNullOrWhiteSpace(query.Group)) cases = cases.Where(c => c.GroupKey == query.Group);
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var text = query.Search.Trim().ToLower();
            cases = cases.Where(c => c.Name.ToLower().Contains(text));
        }
        if (query.SplitId is { } splitId && query.Side is { } side)
        {
            var split = await db.SavedSplits.AsNoTracking().FirstOrDefaultAsync(s => s.Id == splitId && s.DatasetId == datasetId, ct);
            if (split is null) return null;
            var assignment = SplitAssignment.Parse(split.AssignmentJson);
            var test = assignment.Test.ToList();
            var validation = query.Fold >= 0 && query.Fold < assignment.Folds.Count ? assignment.Folds[query.Fold].ToList() : [];
            cases = side switch
            {
                SplitSide.Test => cases.Where(c => test.Contains(c.Id)),
                SplitSide.Validation => cases.Where(c => validation.Contains(c.Id)),
                _ => cases.Where(c => !test.Contains(c.Id) && !validation.Contains(c.Id)),
            };
        }
        return cases;
    }

    /// <summary>The source volumes of the latest version with their slice counts, by name (the grid's volume filter).</summary>
    public async Task<IReadOnlyList<(string Group, int Cases)>> GroupsAsync(Guid datasetId, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Visible(db, user).AnyAsync(d => d.Id == datasetId, ct)) return [];
        var latest = await db.Datasets.Where(d => d.Id == datasetId).Select(d => d.Version).FirstAsync(ct);
        var rows = await DatasetVersions.CasesOf(db, datasetId, latest).Where(c => c.GroupKey != null)
            .GroupBy(c => c.GroupKey!).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct);
        return [.. rows.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => (r.Key, r.Count))];
    }

    /// <summary>
    /// Unpacks the uploaded zip inside its staging folder, validates every pair, and only then moves the files into the
    /// dataset folder and commits the rows in one transaction. A refused upload leaves no row and no file behind (the
    /// caller's <see cref="StagedUpload"/> removes the staging folder). With problems, the upload is refused unless
    /// <see cref="IngestOptions.AdmitValid"/> says to store the valid cases without the bad ones, or
    /// <see cref="IngestOptions.Review"/> asks the user (the report says which files were left out). An archive of NIfTI
    /// volumes (.nii/.nii.gz files) is imported as a volume dataset, cut as <see cref="IngestOptions.Volumes"/> says (default:
    /// auto axis, every empty slice kept).
    /// </summary>
    public async Task<IngestResult> IngestZipAsync(string name, StagedFile zip, string staging, UserContext user, CancellationToken ct = default) =>
        await IngestZipAsync(name, zip, staging, user, IngestOptions.Default, ct);

    public async Task<IngestResult> IngestZipAsync(string name, StagedFile zip, string staging, UserContext user, IngestOptions options,
        CancellationToken ct = default)
    {
        var scan = await ScanZipAsync(name, zip, staging, user, ct, options.Progress, options.Classes);
        if (scan.VolumeRoot is { } volumeRoot)
            return await IngestVolumesAsync(name, scan.Upload, volumeRoot, staging, user, options.Volumes ?? VolumeImportOptions.Default, ct);
        if (scan.OverQuota is not null || scan.Valid.Count == 0) return new IngestResult(null, scan.Problems, scan.OverQuota);
        var classMap = options.Classes ?? WithColours(ClassMap.Default(scan.Classes), scan.ClassColours);
        if (ClassMap.Check(classMap, scan.Classes) is { } badMap) return new IngestResult(null, [new DatasetProblem("classes", badMap)]);
        return await DecideAndCommitAsync(name, scan.Valid, scan.Problems, scan.Classes, classMap, staging, user, options, ct);
    }

    /// <summary>What an uploaded zip holds once unpacked and validated: its valid pairs (<see cref="Pairs"/> only when there
    /// is no problem at all), the problems, the class count, or that it is over the storage quota. The one ingest pipeline
    /// of a new dataset and of cases added to one.</summary>
    private sealed record ScannedUpload(IReadOnlyList<ScannedPair> Valid, IReadOnlyList<DatasetProblem> Problems, StorageRefusal? OverQuota = null,
        int Classes = 1)
    {
        public IReadOnlyList<ScannedPair>? Pairs => Problems.Count == 0 && OverQuota is null && Valid.Count > 0 ? Valid : null;
        /// <summary>The upload holds NIfTI volumes (the MSD / nnU-Net layout) under this folder: not scanned as 2D pairs.</summary>
        public string? VolumeRoot { get; init; }
        public string Upload { get; init; } = "";
        /// <summary>Colour masks: the colour of each label (<see cref="ScanReport.ClassColours"/>); null otherwise.</summary>
        public IReadOnlyList<string>? ClassColours { get; init; }
    }

    /// <param name="classes">A class map the user supplied (the multipart field <c>classes</c>), or null for the default: names
    /// "label k", and colours from the palette, or a colour mask's own colours.</param>
    private async Task<ScannedUpload> ScanZipAsync(string name, StagedFile zip, string staging, UserContext user, CancellationToken ct,
        Action<IngestProgress>? progress = null, IReadOnlyList<ClassEntry>? classes = null)
    {
        var upload = Path.Combine(staging, "upload");
        progress?.Invoke(new IngestProgress(IngestStage.Unpacking, 0, 0));
        var problems = await ZipExtractor.ExtractAsync(zip.Path, zip.FileName, upload, limits.Value, ct,
            (done, total) => progress?.Invoke(new IngestProgress(IngestStage.Unpacking, done, total)));
        File.Delete(zip.Path); // unpacked or refused: its space is free again
        if (problems.Count > 0) return new ScannedUpload([], problems);
        if (await quotas.CheckStorageAsync(user, ArtifactStore.SizeOf(upload), ct) is { } overQuota) return new ScannedUpload([], [], overQuota);
        if (VolumeDatasetRoot(upload) is { } volumeRoot) return new ScannedUpload([], []) { VolumeRoot = volumeRoot, Upload = upload };
        var started = DateTime.UtcNow;
        // Binary masks and label maps (0 … K − 1) alike. An image's several masks are united into staging, beside the upload,
        // and colour masks mapped to label maps there (one colour one label, by the supplied map's colours when there is
        // one); both are committed like any other mask.
        var united = Path.Combine(staging, "united-masks");
        // A supplied map is checked on its own first (values 0 … n − 1, names, colours), then against the masks' classes.
        if (classes is not null && ClassMap.Check(classes, classes.Count <= 2 ? 1 : classes.Count) is { } badSupplied)
            return new ScannedUpload([], [new DatasetProblem("classes", badSupplied)]);
        var colourTable = classes?.OrderBy(c => c.Value).Select(c => ColourMaskMapper.Parse(c.Colour) ?? -1).ToList();
        var colourMasks = new ColourMaskOptions(Path.Combine(staging, "colour-masks"), colourTable);
        var report = await Task.Run(() => DatasetScanner.Scan(upload, allowLabelMaps: true, limits.Value.Images, united, colourMasks, ct,
            (done, total) => progress?.Invoke(new IngestProgress(IngestStage.Validating, done, total))), ct);
        logger.LogInformation("Scanned upload '{Name}': {Pairs} pairs, {Classes} classes, {Problems} problems in {Seconds:F1} s",
            name, report.Pairs.Count, report.Classes, report.Problems.Count, (DateTime.UtcNow - started).TotalSeconds);
        if (report.Pairs.Count == 0)
        {
            return new ScannedUpload([], report.Problems.Count > 0 ? report.Problems : [new DatasetProblem(zip.FileName,
                "No image/mask pairs were found. Put images in images/ and masks with the same file name in masks/, " +
                "or each mask beside its image named with a suffix such as _mask (benign/a.png and benign/a_mask.png).")]);
        }
        return new ScannedUpload(report.Pairs, report.Problems, null, report.Classes) { ClassColours = report.ClassColours };
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

    /// <summary>The scan is done: refuse, ask (<see cref="IngestOptions.Review"/>), or commit — all cases, or the valid ones
    /// without the bad cases when the decision admits them.</summary>
    private async Task<IngestResult> DecideAndCommitAsync(string name, IReadOnlyList<ScannedPair> pairs, IReadOnlyList<DatasetProblem> problems,
        int classes, IReadOnlyList<ClassEntry> classMap, string staging, UserContext user, IngestOptions options, CancellationToken ct)
    {
        var admit = problems.Count == 0 || options.AdmitValid;
        if (options.Review is { } review && (problems.Count > 0 || options.ReviewAlways || classes > 1))
        {
            var decision = await review(new IngestReview(pairs.Count, problems, classes, classMap, LeftOut(problems)), ct);
            if (!decision.Admit) return new IngestResult(null, problems) { Refused = true };
            if (decision.Name is { Length: > 0 } chosen) name = chosen;
            if (decision.Classes is { } edited)
            {
                if (ClassMap.Check(edited, classes) is { } bad) return new IngestResult(null, [new DatasetProblem("classes", bad)]);
                classMap = edited;
            }
            admit = true;
        }
        if (!admit) return new IngestResult(null, problems);
        options.Progress?.Invoke(new IngestProgress(IngestStage.Committing, 0, pairs.Count));
        var dataset = await CommitAsync(name, pairs, staging, user, ct, classes, classMap);
        return new IngestResult(dataset, problems) { LeftOut = problems.Count > 0 ? LeftOut(problems) : [] };
    }

    /// <summary>The files a problem names (the cases an admitted upload leaves out), sorted; problems about the archive or
    /// a folder name no file.</summary>
    internal static IReadOnlyList<string> LeftOut(IReadOnlyList<DatasetProblem> problems) =>
        [.. problems.Select(p => p.File).Where(f => f.Length > 0 && !f.EndsWith('/')).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

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
            ContentHash = ContentHash(pairs.Select(p => (p.Name, p.ImageSha256, p.MaskSha256))),
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
            var image = "images/" + pair.Name + ImageDecoder.StoredExtension(pair.ImagePath);
            var mask = "masks/" + pair.Name + ImageDecoder.StoredExtension(pair.MaskPath);
            File.Move(pair.ImagePath, Path.Combine(layout, image));
            File.Move(pair.MaskPath, Path.Combine(layout, mask));
            bytes += new FileInfo(Path.Combine(layout, image)).Length + new FileInfo(Path.Combine(layout, mask)).Length;
            var slice = volumes?.Slices[pair.Name];
            dataset.Cases.Add(NewCase(pair, image, mask, version: 1, slice));
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
        fingerprints.Enqueue(id); // computed after this request has answered (FingerprintWorker)
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

    /// <summary>The case's classes as a transparent layer (<see cref="ImageRendering.LabelLayerPng"/>): the labels in
    /// <paramref name="labels"/> (null: every foreground class) in the dataset's class colours, filled or as contours; null
    /// when the case is not visible to the user. Cached like the other renditions.</summary>
    public async Task<byte[]?> RenderLabelsAsync(Guid datasetId, Guid caseId, int size, IReadOnlyCollection<int>? labels, bool contour,
        UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var c = await CaseAsync(db, datasetId, caseId, user, ct);
        if (c is null) return null;
        var d = await db.Datasets.AsNoTracking().Where(x => x.Id == datasetId).Select(x => new { x.Classes, x.ClassMapJson }).FirstAsync(ct);
        var map = ClassMap.Parse(d.ClassMapJson, d.Classes);
        var colours = map.Where(e => e.Value > 0 && (labels is null || labels.Contains(e.Value))).ToDictionary(e => e.Value, e => ClassMap.Rgb(e.Colour));
        var folder = store.DatasetDirectory(datasetId);
        var key = string.Join("-", colours.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}{Convert.ToHexStringLower(kv.Value)}"));
        var cache = Path.Combine(folder, "renditions", $"{caseId:N}-labels-{(contour ? "contour" : "fill")}-{size}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12]}.png");
        var mask = ArtifactStore.Resolve(folder, c.MaskPath);
        return await CachedAsync(cache, () => ImageRendering.LabelLayerPng(mask, size, colours, contour), ct);
    }

    /// <summary>The rendition cached at <paramref name="cache"/>, or <paramref name="render"/>'s (off the request thread),
    /// written there through a temporary file so that a reader never sees half a PNG.</summary>
    private static async Task<byte[]> CachedAsync(string cache, Func<byte[]> render, CancellationToken ct)
    {
        if (File.Exists(cache)) return await File.ReadAllBytesAsync(cache, ct);
        var png = await Task.Run(render, ct);
        Directory.CreateDirectory(Path.GetDirectoryName(cache)!);
        var temp = cache + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, png, ct);
        File.Move(temp, cache, overwrite: true);
        return png;
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
        return await CachedAsync(cache, () => rendition switch
        {
            CaseRendition.Image => ImageRendering.ImagePng(image, size),
            CaseRendition.Mask => ImageRendering.MaskPng(mask, size, colours),
            CaseRendition.Labels => ImageRendering.LabelLayerPng(mask, size, new Dictionary<int, byte[]> { [1] = ClassMap.Rgb(ClassMap.DefaultColour(1)) }, contour: false),
            _ => ImageRendering.OverlayPng(image, mask, size, colours),
        }, ct);
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

    /// <summary>Browser URL of a case's class layer: only <paramref name="labels"/> (null: all), filled or as contours.</summary>
    public static string LabelsUrl(Guid datasetId, Guid caseId, int size, IEnumerable<int>? labels, bool contour) =>
        $"/api/datasets/{datasetId}/cases/{caseId}/labels.png?size={size}&style={(contour ? "contour" : "fill")}" +
        (labels is null ? "" : $"&classes={string.Join(",", labels.Order())}");

    private static IQueryable<Dataset> Visible(MedSegDbContext db, UserContext user) =>
        Access.Datasets(db, user).AsNoTracking();

    /// <summary>The row of a validated pair laid out as <paramref name="image"/> and <paramref name="mask"/>, added by
    /// <paramref name="version"/>: the one place a case's columns are filled (a first upload and cases added later alike).</summary>
    internal static DatasetCase NewCase(ScannedPair pair, string image, string mask, int version, SlicedCase? slice = null) => new()
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
        AddedInVersion = version,
        GroupKey = slice?.GroupKey,
        SliceIndex = slice?.SliceIndex,
        // A volume's slices bring their spacing; a DICOM image its Pixel Spacing.
        SpacingX = slice?.SpacingX ?? pair.Spacing?.X,
        SpacingY = slice?.SpacingY ?? pair.Spacing?.Y,
    };

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

    /// <summary>SHA-256 over the cases' (name, image hash, mask hash) sorted by name: a version's identity.</summary>
    internal static string ContentHash(IEnumerable<(string Name, string ImageSha256, string MaskSha256)> cases)
    {
        var text = new StringBuilder();
        foreach (var p in cases.OrderBy(p => p.Name, StringComparer.Ordinal))
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
