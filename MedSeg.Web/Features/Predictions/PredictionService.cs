using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using System.Globalization;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Engine.Inference;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Predictions;

/// <summary>
/// Prediction runs of a trained experiment: take an upload of images (validate everything, store nothing when refused),
/// queue a <see cref="PredictJob"/>, and read the run's status, masks and renditions back.
/// </summary>
public sealed class PredictionService(IDbContextFactory<MedSegDbContext> contexts, PredictionRunFiles runs, ArtifactStore store,
    IBackgroundJobClient jobs, IOptions<LimitsOptions> limits, AuditLog audit, QuotaService quotas, ILogger<PredictionService> logger)
{
    /// <summary>NotFound, NotCompleted or OverQuota (the user's job quota is full) when no run can start on this experiment;
    /// null when one can.</summary>
    public async Task<StartPredictionResult?> CheckStartableAsync(Guid experimentId, UserContext user, CancellationToken ct = default)
    {
        var experiment = await ExperimentAsync(experimentId, user, ct);
        if (experiment is null) return new StartPredictionResult.NotFound();
        if (experiment.Status != ExperimentStatus.Completed) return new StartPredictionResult.NotCompleted(experiment.Status.ToString());
        return await quotas.CheckJobAsync(user, ct) is { } overQuota ? new StartPredictionResult.OverQuota(overQuota) : null;
    }

    /// <param name="uploads">The received files (a .zip of images, or images), inside <paramref name="staging"/>, the upload's
    /// staging folder, where the run is laid out before it moves into place; the caller removes the folder.</param>
    /// <param name="ensemble">The other members of an ensemble, checked by <see cref="CheckEnsembleAsync"/>; empty for one model.</param>
    public async Task<StartPredictionResult> StartAsync(Guid experimentId, IReadOnlyList<StagedFile> uploads, string staging, bool tta, bool largestComponent,
        UserContext user, CancellationToken ct = default, IReadOnlyList<Guid>? ensemble = null, bool slidingWindow = false)
    {
        if (await CheckStartableAsync(experimentId, user, ct) is { } refused) return refused;
        ensemble ??= [];
        var layout = Path.Combine(staging, "run");
        var input = PredictionRunFiles.InputDirectory(layout);
        Directory.CreateDirectory(input);
        var problems = await UnpackAsync(uploads, input, limits.Value, ct);
        if (problems.Count > 0) return new StartPredictionResult.Refused(problems);
        var axis = await SliceAxisAsync(experimentId, ct);
        var (images, scanProblems) = await Task.Run(() => Scan(input, limits.Value.Images, ct, axis), ct);
        if (scanProblems.Count > 0) return new StartPredictionResult.Refused(scanProblems);
        if (ensemble.Count > 0 && images.Any(i => i.IsVolume))
            return new StartPredictionResult.Invalid(EnsembleField, "Ensembles predict 2D images; the upload holds NIfTI volumes. Predict the volumes with one experiment (leave experimentIds out).");

        // The job quota again, now that the upload is unpacked, held until the job is queued (checked before the body too).
        using var jobSlot = await quotas.LockJobsAsync(user, ct);
        if (await quotas.CheckJobAsync(user, ct) is { } overQuota) return new StartPredictionResult.OverQuota(overQuota);
        var runId = Guid.NewGuid();
        PredictionRunFiles.WriteTo(layout, new PredictionRunState(runId, experimentId, DateTime.UtcNow, PredictionRunStatus.Queued,
            tta, largestComponent, images) { CreatedBy = user.UserId, Ensemble = ensemble, SlidingWindow = slidingWindow });
        var target = runs.RunDirectory(experimentId, runId);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Directory.Move(layout, target);
        try
        {
            jobs.Enqueue<PredictJob>(j => j.RunAsync(experimentId, runId, CancellationToken.None));
        }
        catch
        {
            TryDelete(target);
            throw;
        }
        logger.LogInformation("Prediction run {Run} of experiment {Experiment} queued with {Images} images", runId, experimentId, images.Count);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.PredictionStart, "prediction", runId.ToString(),
            $"{images.Count} images on experiment {experimentId}"), ct);
        return new StartPredictionResult.Started(runId);
    }

    /// <summary>The form field naming an ensemble's runs.</summary>
    public const string EnsembleField = "experimentIds";

    /// <summary>At most this many runs in an ensemble (the experiment itself included).</summary>
    public const int MaxEnsemble = 10;

    /// <summary>
    /// The other members of an ensemble from <c>experimentIds</c> (comma-separated experiment ids; the experiment itself may be
    /// among them): each visible to the user, Completed, trained on the same dataset version and with the same classes and
    /// input channels (run.json), at most <see cref="MaxEnsemble"/> in all. Empty (no error) when the field is empty.
    /// </summary>
    public async Task<(IReadOnlyList<Guid> Members, string? Error)> CheckEnsembleAsync(Guid experimentId, string? experimentIds, UserContext user,
        CancellationToken ct = default)
    {
        var ids = new List<Guid>();
        foreach (var part in (experimentIds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Guid.TryParse(part, out var id)) return ([], $"'{part}' is not an experiment id: give the runs' ids (GUIDs), separated by commas.");
            if (id != experimentId && !ids.Contains(id)) ids.Add(id);
        }
        if (ids.Count == 0) return ([], null);
        if (ids.Count + 1 > MaxEnsemble) return ([], $"An ensemble holds at most {MaxEnsemble} runs, this experiment included; {ids.Count + 1} were given.");
        await using var db = await contexts.CreateDbContextAsync(ct);
        var all = ids.Prepend(experimentId).ToList();
        var found = await Access.Experiments(db, user).AsNoTracking().Where(e => all.Contains(e.Id))
            .Select(e => new { e.Id, e.Name, e.Status, e.DatasetId }).ToListAsync(ct);
        var self = found.FirstOrDefault(e => e.Id == experimentId);
        if (self is null) return ([], "The experiment was not found.");
        var manifests = new List<(string, Engine.Training.RunManifest)>();
        foreach (var id in all)
        {
            var member = found.FirstOrDefault(e => e.Id == id);
            if (member is null) return ([], $"Experiment {id} was not found (or is not shared with you).");
            if (member.Status != ExperimentStatus.Completed)
                return ([], $"'{member.Name}' is {member.Status}; every member of an ensemble must be Completed.");
            if (member.DatasetId != self.DatasetId)
                return ([], $"'{member.Name}' was trained on another dataset version than '{self.Name}': choose runs of the same dataset version.");
            try
            {
                manifests.Add((member.Name, Engine.Training.RunManifest.Read(store.ExperimentDirectory(id))));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
            {
                return ([], $"'{member.Name}' has no readable run.json: it cannot predict.");
            }
        }
        return Engine.Inference.EnsemblePredictor.CheckCompatible(manifests) is { } problem ? ([], problem) : (ids, null);
    }

    /// <summary>The runs the experiment can form an ensemble with (<see cref="CheckEnsembleAsync"/>'s rules, the experiment
    /// itself left out), its group's first, then by name.</summary>
    public async Task<IReadOnlyList<EnsembleCandidate>> EnsembleCandidatesAsync(Guid experimentId, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var self = await Access.Experiments(db, user).AsNoTracking().Where(e => e.Id == experimentId)
            .Select(e => new { e.DatasetId, e.GroupId }).FirstOrDefaultAsync(ct);
        if (self is null) return [];
        var list = await Access.Experiments(db, user).AsNoTracking()
            .Where(e => e.Id != experimentId && e.DatasetId == self.DatasetId && e.Status == ExperimentStatus.Completed)
            .Select(e => new { e.Id, e.Name, e.Model, e.Fold, e.GroupId }).ToListAsync(ct);
        return [.. list.Select(e => new EnsembleCandidate(e.Id, e.Name, e.Model, e.Fold, self.GroupId is not null && e.GroupId == self.GroupId))
            .OrderByDescending(e => e.SameGroup).ThenBy(e => e.Fold ?? int.MaxValue).ThenBy(e => e.Name, StringComparer.OrdinalIgnoreCase).Take(200)];
    }

    /// <summary>Runs of an experiment, newest first; null when the experiment is not visible to the user.</summary>
    public async Task<IReadOnlyList<PredictionRunSummary>?> ListAsync(Guid experimentId, UserContext user, CancellationToken ct = default)
    {
        if (await ExperimentAsync(experimentId, user, ct) is not { } experiment) return null;
        return [.. runs.ReadAll(experimentId).Where(r => experiment.CanSee(r, user)).Select(r => ToSummary(r, experiment.CanManage(r, user)))];
    }

    public async Task<PredictionRunDetail?> GetAsync(Guid experimentId, Guid runId, UserContext user, CancellationToken ct = default)
    {
        if (await ExperimentAsync(experimentId, user, ct) is not { } experiment || runs.Read(experimentId, runId) is not { } state
            || !experiment.CanSee(state, user)) return null;
        return ToDetail(state, experiment.CanManage(state, user));
    }

    /// <summary>The masks archive of a completed run; null when not visible or not there yet.</summary>
    public async Task<string?> MasksZipAsync(Guid experimentId, Guid runId, UserContext user, CancellationToken ct = default)
    {
        if (await VisibleRunAsync(experimentId, runId, user, ct) is null) return null;
        var file = Path.Combine(runs.RunDirectory(experimentId, runId), PredictionRunFiles.MasksZip);
        return File.Exists(file) ? file : null;
    }

    /// <summary>A PNG of an input image, its predicted mask (0/255) or both overlaid; null when missing or not visible.</summary>
    public async Task<byte[]?> RenderAsync(Guid experimentId, Guid runId, string name, PredictionRendition rendition, int size,
        UserContext user, CancellationToken ct = default)
    {
        if (await VisibleRunAsync(experimentId, runId, user, ct) is not { } state) return null;
        var runDir = runs.RunDirectory(experimentId, runId);
        var image = state.Images.FirstOrDefault(i => i.Name == name);
        if (image is null || image.IsVolume) return null; // a volume's mask is its .nii.gz in masks.zip
        var imagePath = ArtifactStore.Resolve(PredictionRunFiles.InputDirectory(runDir), image.File);
        var maskPath = PredictionRunFiles.MaskFile(runDir, image.Name);
        if (rendition != PredictionRendition.Image && !File.Exists(maskPath)) return null;
        // A label-map model's masks hold labels: painted in its dataset's class colours (binary: amber, as always).
        IReadOnlyList<string>? colours = null;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var d = await db.Experiments.AsNoTracking().Where(e => e.Id == experimentId)
                .Select(e => new { e.Dataset!.Classes, e.Dataset.ClassMapJson }).FirstOrDefaultAsync(ct);
            if (d is { Classes: > 1 }) colours = [.. Datasets.ClassMap.Parse(d.ClassMapJson, d.Classes).OrderBy(c => c.Value).Select(c => c.Colour)];
        }
        return await Task.Run(() => rendition switch
        {
            PredictionRendition.Image => ImageRendering.ImagePng(imagePath, size),
            PredictionRendition.Mask => ImageRendering.MaskPng(maskPath, size, colours),
            _ => ImageRendering.OverlayPng(imagePath, maskPath, size, colours),
        }, ct);
    }

    public static string RenditionUrl(Guid experimentId, Guid runId, string name, PredictionRendition rendition, int size = 256) =>
        $"/api/experiments/{experimentId}/predictions/{runId}/images/{Uri.EscapeDataString(name)}.png?kind={rendition.ToString().ToLowerInvariant()}&size={size}";

    public static string MasksUrl(Guid experimentId, Guid runId) => $"/api/experiments/{experimentId}/predictions/{runId}/masks.zip";

    /// <summary>Puts every upload under <paramref name="input"/>: zips are unpacked (then deleted), images moved by file name.</summary>
    private static async Task<IReadOnlyList<DatasetProblem>> UnpackAsync(IReadOnlyList<StagedFile> uploads, string input, LimitsOptions limits,
        CancellationToken ct)
    {
        if (uploads.Count == 0)
        {
            return [new DatasetProblem("(upload)", "No file was uploaded: send a 'file' field holding a .zip of images, or one or more 'files' fields holding images.")];
        }
        foreach (var upload in uploads)
        {
            var fileName = upload.FileName;
            if (fileName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                var problems = await ZipExtractor.ExtractAsync(upload.Path, fileName, input, limits, ct);
                File.Delete(upload.Path);
                if (problems.Count > 0) return problems;
                continue;
            }
            if (fileName.Length == 0 || fileName.StartsWith('.'))
            {
                return [new DatasetProblem(fileName.Length == 0 ? "(upload)" : fileName, "The file has no usable name; name it like the image it holds (e.g. case-01.png).")];
            }
            var target = Path.Combine(input, fileName);
            if (File.Exists(target)) return [new DatasetProblem(fileName, "Two uploaded files have this name; rename one of them.")];
            File.Move(upload.Path, target);
        }
        return [];
    }

    /// <summary>Decodes every file, after checking its size, content and header against <paramref name="limits"/>; reports
    /// each non-image, unreadable or too large file and duplicate name (all of them, not the first). NIfTI volumes
    /// (<c>.nii</c>, <c>.nii.gz</c>) are read whole within <see cref="VolumeLimits.Default"/> and sliced along
    /// <paramref name="axis"/>; <c>case_0000.nii.gz</c> (nnU-Net's first channel) is the case <c>case</c>, and a case with
    /// more channels (<c>_0001</c> …, or a 4D file) is refused by name.</summary>
    internal static (IReadOnlyList<PredictionImage> Images, IReadOnlyList<DatasetProblem> Problems) Scan(string input, ImageLimits limits, CancellationToken ct,
        SliceAxis axis = SliceAxis.Auto)
    {
        var images = new List<PredictionImage>();
        var problems = new List<DatasetProblem>();
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            ct.ThrowIfCancellationRequested();
            var rel = Path.GetRelativePath(input, path).Replace('\\', '/');
            if (VolumeOriginals.StemOf(path) is { } stem)
            {
                var (volumeName, channel) = NnUnetChannel(stem);
                if (channel > 0)
                {
                    problems.Add(new DatasetProblem(rel, $"is channel {channel} of case '{volumeName}' (nnU-Net naming _{channel:D4}); " +
                        $"MedSeg predicts single-channel volumes only: upload {volumeName}_0000 alone."));
                    continue;
                }
                if (byName.TryGetValue(volumeName, out var twin))
                {
                    problems.Add(new DatasetProblem(rel, $"has the same case name as {twin}; masks are named by the case, so rename one of them."));
                    continue;
                }
                byName[volumeName] = rel;
                if (ScanVolume(path, rel, volumeName, axis, problems) is { } volume) images.Add(volume);
                continue;
            }
            if (!ImageDecoder.Extensions.Contains(Path.GetExtension(path)))
            {
                problems.Add(new DatasetProblem(rel, "not an image: only PNG, JPEG, TIFF and BMP files and NIfTI volumes (.nii, .nii.gz) are read; remove it from the archive."));
                continue;
            }
            var name = Path.GetFileNameWithoutExtension(path);
            if (byName.TryGetValue(name, out var other))
            {
                problems.Add(new DatasetProblem(rel, $"has the same name as {other}; masks are named by the image's name, so rename one of them."));
                continue;
            }
            byName[name] = rel;
            try
            {
                if (new FileInfo(path).Length == 0)
                {
                    problems.Add(new DatasetProblem(rel, "the file is empty (0 bytes); upload it again or remove it."));
                    continue;
                }
                var raster = ImageDecoder.Decode(ImageDecoder.ReadFile(path, limits), limits, path);
                images.Add(new PredictionImage(name, rel, raster.Width, raster.Height));
            }
            catch (ImageRefusedException e)
            {
                problems.Add(new DatasetProblem(rel, e.Message));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                problems.Add(new DatasetProblem(rel, $"unreadable: {e.Message} Re-export the file or remove it."));
            }
        }
        if (problems.Count == 0 && images.Count == 0)
        {
            problems.Add(new DatasetProblem("(archive)", "No images were found: upload PNG, JPEG, TIFF or BMP files or NIfTI volumes, or a .zip of them."));
        }
        return (images, problems);
    }

    /// <summary>A NIfTI volume read whole (so that a truncated or corrupt file is refused now, not in the job); null and a
    /// problem naming the file when it cannot be predicted.</summary>
    private static PredictionImage? ScanVolume(string path, string rel, string name, SliceAxis axis, List<DatasetProblem> problems)
    {
        try
        {
            var header = NiftiVolume.Read(path, VolumeLimits.Default, rel).Header;
            if (header.Channels > 1)
            {
                problems.Add(new DatasetProblem(rel, VolumePrediction.MultiChannelProblem(header.Channels)));
                return null;
            }
            var g = VolumeSlicer.Geometry(header, axis);
            return new PredictionImage(name, rel, g.Columns, g.Rows, g.Count, g.Axis);
        }
        catch (VolumeRefusedException e)
        {
            problems.Add(new DatasetProblem(rel, e.Problem));
        }
        catch (IOException e)
        {
            problems.Add(new DatasetProblem(rel, $"unreadable: {e.Message} Copy or export the volume again, or remove it."));
        }
        return null;
    }

    /// <summary>nnU-Net's channel suffix: <c>case_0001</c> → (case, 1); a stem without one → (stem, 0).</summary>
    private static (string Case, int Channel) NnUnetChannel(string stem) =>
        stem.Length > 5 && stem[^5] == '_' && stem[^4..].All(char.IsAsciiDigit) ? (stem[..^5], int.Parse(stem[^4..], CultureInfo.InvariantCulture)) : (stem, 0);

    /// <summary>The axis a prediction slices volumes along: the one the experiment's dataset was sliced with
    /// (<see cref="VolumeOriginals.Axis"/>; a 2D dataset or one without a record: the coarsest spacing).</summary>
    private async Task<SliceAxis> SliceAxisAsync(Guid experimentId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var source = await db.Experiments.Where(e => e.Id == experimentId).Select(e => e.Dataset!.SourceJson).FirstOrDefaultAsync(ct);
        return VolumeOriginals.Axis(source);
    }

    /// <summary>The experiment's status and owner, when the user may see the experiment.</summary>
    private async Task<RunOwner?> ExperimentAsync(Guid experimentId, UserContext user, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await Access.Experiments(db, user).AsNoTracking().Where(e => e.Id == experimentId)
            .Select(e => new RunOwner(e.Status, e.OwnerId)).FirstOrDefaultAsync(ct);
    }

    /// <summary>A run the user may see: their own, or any run of an experiment they manage (runs from before owners were
    /// recorded belong to the experiment's owner).</summary>
    private async Task<PredictionRunState?> VisibleRunAsync(Guid experimentId, Guid runId, UserContext user, CancellationToken ct) =>
        await ExperimentAsync(experimentId, user, ct) is { } experiment && runs.Read(experimentId, runId) is { } state && experiment.CanSee(state, user)
            ? state
            : null;

    private sealed record RunOwner(ExperimentStatus Status, string OwnerId)
    {
        public bool CanSee(PredictionRunState run, UserContext user) => Access.CanSeeRun(OwnerId, run.CreatedBy, user);

        public bool CanManage(PredictionRunState run, UserContext user) => Access.CanManageRun(OwnerId, run.CreatedBy, user);
    }

    internal static PredictionRunSummary ToSummary(PredictionRunState s, bool canManage) =>
        new(s.Id, s.Created, s.Status, s.Images.Count, s.Done, s.Error, s.TestTimeAugmentation, s.LargestComponent, s.Finished, canManage)
        {
            Ensemble = s.Ensemble, SlidingWindow = s.SlidingWindow,
        };

    private PredictionRunDetail ToDetail(PredictionRunState s, bool canManage)
    {
        var runDir = runs.RunDirectory(s.ExperimentId, s.Id);
        var results = s.Images.Select(i => new PredictedImageView(i.Name, i.Width, i.Height,
            RenditionUrl(s.ExperimentId, s.Id, i.Name, PredictionRendition.Image),
            RenditionUrl(s.ExperimentId, s.Id, i.Name, PredictionRendition.Mask),
            RenditionUrl(s.ExperimentId, s.Id, i.Name, PredictionRendition.Overlay),
            File.Exists(PredictionRunFiles.MaskFile(runDir, i)), i.Slices)).ToList();
        var zip = s.Status == PredictionRunStatus.Completed ? MasksUrl(s.ExperimentId, s.Id) : null;
        return new PredictionRunDetail(ToSummary(s, canManage), results, zip);
    }

    private void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete {Dir}", dir);
        }
    }
}
