using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments.Queue;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments;

/// <summary>An architecture offered by the launch form.</summary>
/// <summary>An architecture the form offers, from the registry's metadata: its variants (the default first) and whether it
/// takes deep supervision.</summary>
public sealed record ModelChoice(string Name, string Description, int SizeMultiple, IReadOnlyList<ModelVariantInfo>? Variants = null,
    bool TakesDeepSupervision = false);

/// <summary>What a Resume did: nothing to resume by that id, resumed (or nothing to do), or refused while the run still stops.</summary>
public enum ResumeResult
{
    NotFound,
    Resumed,
    StillStopping,
    /// <summary>Shared with the user read-only: only the owner or an admin resumes it.</summary>
    Forbidden,
}

/// <summary>Experiments: launch (snapshot config and split, queue the run in the fair training queue), list, details, review, cancel.</summary>
public sealed class ExperimentService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, IBackgroundJobClient jobs,
    RunningExperiments running, IExperimentNotifier notifier, IOptions<JobsOptions> jobsOptions, AuditLog audit, DatasetService datasets, QuotaService quotas, ILogger<ExperimentService> logger,
    TrainingDispatcher dispatcher, Weights.WeightsService weights, Notifications.NotificationService notifications, Nodes.NodeRegistry nodes)
{
    public const int PreviewCaseCount = 4;

    /// <summary>The model's input channels for a dataset's images: 3 for grey (replicated) and colour images, as experiments
    /// always had; the channel count itself for multi-channel images (a volume's MRI sequences in one multi-band TIFF).</summary>
    public static int InChannelsFor(int datasetChannels) => datasetChannels is 2 or > 3 ? datasetChannels : 3;
    public const double ValidationFraction = 0.2;
    public static IReadOnlyList<ModelChoice> Models =>
        [.. ModelRegistry.All.Select(m => new ModelChoice(m.Name, m.Description, m.SizeMultiple, m.Variants, m.Takes(ModelRegistry.DeepSupervisionOption)))];

    /// <summary>The model's required divisor of H and W, from the registry's metadata.</summary>
    public static int SizeMultiple(string model) => ModelRegistry.SizeMultiple(model);

    public async Task<IReadOnlyList<ExperimentSummary>> ListAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await Visible(db, user).Include(e => e.Dataset).OrderByDescending(e => e.CreatedAt).ToListAsync(ct);
        var names = await People.NamesAsync(db, rows.Select(e => e.OwnerId), ct);
        return [.. rows.Select(e => ToSummary(e, names, user))];
    }

    public async Task<ExperimentDetail?> GetAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await Visible(db, user).Include(x => x.Dataset).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return null;
        var metrics = await db.EpochMetrics.AsNoTracking().Where(m => m.ExperimentId == id).OrderBy(m => m.Epoch).ToListAsync(ct);
        var counts = await db.ExperimentCases.Where(c => c.ExperimentId == id)
            .GroupBy(c => c.Split).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct);
        // The Error column holds the last status message: a failure's reason, or a completed run's note (time budget…).
        var completed = e.Status == ExperimentStatus.Completed;
        var message = ServerPaths.Redact(e.Error, store.Root); // rows stored before paths were redacted at write
        return new ExperimentDetail(ToSummary(e, await People.NamesAsync(db, [e.OwnerId], ct), user), e.BatchSize, e.ImageSize, e.LearningRate, e.Seed,
            counts.FirstOrDefault(c => c.Key == CaseSplit.Train)?.Count ?? 0,
            counts.FirstOrDefault(c => c.Key == CaseSplit.Validation)?.Count ?? 0,
            completed ? null : message, e.StartedAt, e.FinishedAt,
            [.. metrics.Select(ToPoint)],
            await LatestPreviewsAsync(db, e, ct),
            ExperimentConfig.Of(e),
            completed ? message : null,
            e.Restarts)
        {
            DatasetVersion = e.DatasetVersion,
            SplitId = e.SplitId,
            Fold = e.Fold,
            TestCases = counts.FirstOrDefault(c => c.Key == CaseSplit.Test)?.Count ?? 0,
            Classes = ClassMap.Parse(e.Dataset?.ClassMapJson, e.Dataset?.Classes ?? 1),
            ClassCount = e.Dataset?.Classes ?? 1,
            EtaSeconds = e.Status == ExperimentStatus.Running
                ? ExperimentEta.Remaining(e.CurrentEpoch, e.Epochs, metrics.Select(m => m.Seconds))?.TotalSeconds
                : null,
        };
    }

    /// <summary>The last lines of the run's log (<see cref="RunLog"/>), server paths redacted; null when the experiment is not
    /// visible to the user, empty before the run has written any.</summary>
    public async Task<IReadOnlyList<string>?> LogTailAsync(Guid id, int lines, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Visible(db, user).AnyAsync(x => x.Id == id, ct)) return null;
        return [.. RunLog.Tail(store.ExperimentDirectory(id), lines).Select(l => ServerPaths.Redact(l, store.Root) ?? "")];
    }

    /// <summary>Validates the request (field errors), snapshots the experiment and queues it for training.</summary>
    public Task<LaunchResult> LaunchAsync(LaunchRequest request, UserContext user, CancellationToken ct = default) =>
        LaunchAsync(request, user, new LaunchMode(), ct);

    /// <summary>How a group launches its members (<see cref="ExperimentGroupService"/>): first every member validated only
    /// (nothing stored), then each launched into the group; the group holds the user's job lock and has checked the quota
    /// for all its members.</summary>
    internal sealed record LaunchMode(Guid? GroupId = null, bool ValidateOnly = false, bool QuotaHeld = false);

    internal async Task<LaunchResult> LaunchAsync(LaunchRequest request, UserContext user, LaunchMode mode, CancellationToken ct)
    {
        // The job quota first: a user at the limit learns that before anything else. Held until the job is queued.
        using var jobSlot = mode.QuotaHeld ? null : await quotas.LockJobsAsync(user, ct);
        if (!mode.QuotaHeld && await quotas.CheckJobAsync(user, ct) is { } overQuota)
        {
            return new LaunchResult(null, [new FieldError("", overQuota.Message)], overQuota);
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var errors = new List<FieldError>();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(request, new ValidationContext(request), results, validateAllProperties: true))
        {
            errors.AddRange(results.SelectMany(r => r.MemberNames.DefaultIfEmpty("").Select(m => new FieldError(m, r.ErrorMessage ?? "Invalid value."))));
        }
        Dataset? dataset = null;
        ChosenSplit? chosen = null;
        if (request.DatasetId is { } datasetId)
        {
            dataset = await Access.Datasets(db, user).AsNoTracking().FirstOrDefaultAsync(d => d.Id == datasetId, ct);
            if (dataset is null)
            {
                errors.Add(new FieldError(nameof(LaunchRequest.DatasetId), "No such dataset (or it is not shared with you)."));
            }
            else if (request.SplitId is null && dataset.CaseCount < 2)
            {
                errors.Add(new FieldError(nameof(LaunchRequest.DatasetId), "The dataset needs at least 2 cases: one to train on and one to validate."));
            }
            else
            {
                chosen = await ChooseSplitAsync(db, dataset, request, errors, ct);
            }
        }
        // One set of rules (the engine's): the loss follows the dataset (Binary mode for one class, Multiclass with bce refused
        // for a label map), the size the model's multiple, the variant and options the registry's metadata.
        var classes = dataset?.Classes ?? 1;
        var settings = request.ToSettings(classes, InChannelsFor(dataset?.Channels ?? 3));
        errors.AddRange(settings.Check().Where(e => e.Field != nameof(TrainingSettings.ModelOptions) || dataset is not null)
            .Select(e => new FieldError(e.Field, e.Message)));
        // Pretrained weights must fit the model and variant (the library recorded what each file fits when it was uploaded).
        Weights.WeightsView? pretrained = null;
        if (request.WeightsId is { } weightsId && !errors.Any(e => e.Field is nameof(LaunchRequest.Model) or nameof(LaunchRequest.Variant)))
        {
            if (await weights.CheckAsync(weightsId, settings.Model, settings.ModelOptions.Variant, ct) is { } unfit)
                errors.Add(new FieldError(nameof(LaunchRequest.WeightsId), unfit));
            else pretrained = await weights.GetAsync(weightsId, ct);
        }
        if (errors.Count > 0 || dataset is null || chosen is null) return new LaunchResult(null, errors);

        var model = settings.Model;
        var (version, cases, train, validation, test, splitConfig) = chosen;
        // Admission: a run that would not fit this server's memory ceiling is refused here, not killed later.
        var shape = new RunShape(model, settings.ModelOptions.Variant, settings.BatchSize, settings.ImageSize, settings.ModelOptions.InChannels, train.Count,
            validation.Count, cases.Max(c => (long)c.Width * c.Height)) { Classes = classes, DeepSupervision = settings.ModelOptions.DeepSupervision };
        // On a deployment with GPU workers, a run that goes to one is admitted against the GPU's free memory there.
        var ceiling = nodes.AdmissionCeiling(request.Device, jobsOptions.Value.EffectiveMemoryCeilingBytes);
        if (MemoryEstimate.Check(shape, ceiling, ModelRegistry.SizeMultiple(model)) is { } tooLarge)
        {
            return new LaunchResult(null, [new FieldError(nameof(LaunchRequest.BatchSize), tooLarge)]);
        }
        if (mode.ValidateOnly) return new LaunchResult(Guid.Empty, []);
        var previews = validation.OrderBy(c => c.Name, StringComparer.Ordinal).Take(PreviewCaseCount).Select(c => c.Id).ToHashSet();
        var experiment = new Experiment
        {
            Id = Guid.NewGuid(),
            Name = string.IsNullOrWhiteSpace(request.Name) ? $"{model} on {dataset.Name}" : request.Name.Trim(),
            OwnerId = user.UserId,
            DatasetId = dataset.Id,
            DatasetVersion = version.Number,
            SplitId = request.SplitId,
            Fold = request.SplitId is null ? null : splitConfig.Fold,
            Model = model,
            Epochs = settings.Epochs,
            BatchSize = settings.BatchSize,
            ImageSize = settings.ImageSize,
            LearningRate = settings.LearningRate,
            Seed = settings.Seed,
            Status = ExperimentStatus.Queued,
            Variant = settings.ModelOptions.Variant,
            GroupId = mode.GroupId,
            ConfigJson = new ExperimentConfig(settings)
            {
                Split = splitConfig,
                Dataset = new DatasetRef(dataset.Id, dataset.Name, version.ContentHash, version.CaseCount, version.Number),
                Weights = pretrained is null ? null : new WeightsRef(pretrained.Id, pretrained.Name, pretrained.Sha256),
                Device = string.IsNullOrWhiteSpace(request.Device) ? null : request.Device.Trim().ToLowerInvariant(),
            }.Serialize(),
        };
        experiment.Cases.AddRange(train.Select(c => new ExperimentCase { Id = Guid.NewGuid(), DatasetCaseId = c.Id, Split = CaseSplit.Train }));
        experiment.Cases.AddRange(validation.Select(c => new ExperimentCase
        {
            Id = Guid.NewGuid(), DatasetCaseId = c.Id, Split = CaseSplit.Validation, IsPreview = previews.Contains(c.Id),
        }));
        experiment.Cases.AddRange(test.Select(c => new ExperimentCase { Id = Guid.NewGuid(), DatasetCaseId = c.Id, Split = CaseSplit.Test }));
        db.Experiments.Add(experiment);
        await db.SaveChangesAsync(ct);
        await EnqueueAsync(db, experiment, ct);
        logger.LogInformation("Experiment {Id} launched: {Model} on version {Version}, {Train} train / {Val} validation / {Test} test cases",
            experiment.Id, model, version.Number, train.Count, validation.Count, test.Count);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.ExperimentLaunch, "experiment", experiment.Id.ToString(),
            $"{experiment.Name} ({model} on dataset {dataset.Name})"));
        return new LaunchResult(experiment.Id, []);
    }

    /// <summary>The request that made a run the user can see (<see cref="LaunchRequest.From"/>), for "Clone and edit"; null
    /// when not visible.</summary>
    public async Task<LaunchRequest?> LaunchRequestOfAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await Visible(db, user).FirstOrDefaultAsync(x => x.Id == id, ct);
        return e is null ? null : LaunchRequest.From(ExperimentConfig.Of(e), e);
    }

    /// <summary>Launches a copy of a visible run with the request that made it, named "… (copy)". A run shared with the user
    /// is cloned only when its dataset is visible to them too (<see cref="CloneResult.DatasetHidden"/>).</summary>
    public async Task<CloneResult> CloneAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        if (await LaunchRequestOfAsync(id, user, ct) is not { } request) return new CloneResult(null, NotFound: true);
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            if (!await Access.Datasets(db, user).AnyAsync(d => d.Id == request.DatasetId, ct)) return new CloneResult(null, DatasetHidden: true);
        }
        request.Name = CopyName(request.Name);
        return new CloneResult(await LaunchAsync(request, user, ct));
    }

    /// <summary>"name (copy)", within the name's 200 characters.</summary>
    public static string CopyName(string? name)
    {
        const string suffix = " (copy)";
        var stem = (name ?? "").Trim();
        return (stem.Length + suffix.Length <= 200 ? stem : stem[..(200 - suffix.Length)]) + suffix;
    }

    /// <summary>The cases an experiment trains, validates and tests on, of the version it is pinned to.</summary>
    private sealed record ChosenSplit(DatasetVersion Version, IReadOnlyList<DatasetCase> Cases, IReadOnlyList<DatasetCase> Train,
        IReadOnlyList<DatasetCase> Validation, IReadOnlyList<DatasetCase> Test, SplitConfig Config);

    /// <summary>
    /// With a saved split: its version (a split of an older version pins that version) and the fold's sides. Without: the
    /// latest version, split by the seed (<see cref="Split"/>); by whole volumes when the cases came from volumes, so slices of
    /// one volume never straddle. Field errors name <c>SplitId</c> or <c>Fold</c>.
    /// </summary>
    private static async Task<ChosenSplit?> ChooseSplitAsync(MedSegDbContext db, Dataset dataset, LaunchRequest request, List<FieldError> errors, CancellationToken ct)
    {
        var number = dataset.Version;
        SavedSplit? saved = null;
        if (request.SplitId is { } splitId)
        {
            saved = await db.SavedSplits.AsNoTracking().FirstOrDefaultAsync(s => s.Id == splitId, ct);
            if (saved is null || saved.DatasetId != dataset.Id)
            {
                errors.Add(new FieldError(nameof(LaunchRequest.SplitId), saved is null
                    ? "No such split; choose one of the dataset's splits (GET /api/datasets/{id}/splits), or none for a random split by seed."
                    : "This split belongs to another dataset; choose one of this dataset's splits, or none for a random split by seed."));
                return null;
            }
            if (request.Fold is { } f && (f < 0 || f >= saved.Folds))
            {
                errors.Add(new FieldError(nameof(LaunchRequest.Fold), saved.Folds == 1
                    ? $"Split '{saved.Name}' has one fold: 0 (or leave it out)."
                    : $"Split '{saved.Name}' has folds 0 … {saved.Folds - 1}; got {f}."));
                return null;
            }
            number = saved.Version;
        }
        else if (request.Fold is not null)
        {
            errors.Add(new FieldError(nameof(LaunchRequest.Fold), "A fold needs a saved split (splitId); leave it out for a random split by seed."));
            return null;
        }
        var version = await db.DatasetVersions.AsNoTracking().FirstOrDefaultAsync(v => v.DatasetId == dataset.Id && v.Number == number, ct)
                      ?? new DatasetVersion { DatasetId = dataset.Id, Number = number, ContentHash = dataset.ContentHash, CaseCount = dataset.CaseCount, Note = "", CreatedById = dataset.OwnerId };
        var cases = await DatasetVersions.CasesOf(db, dataset.Id, number).ToListAsync(ct);
        if (saved is not null)
        {
            var fold = request.Fold ?? 0;
            var sides = SplitAssignment.Parse(saved.AssignmentJson).SidesOf(fold, cases.Select(c => c.Id));
            IReadOnlyList<DatasetCase> On(string side) => [.. cases.Where(c => sides[c.Id] == side)];
            return new ChosenSplit(version, cases, On(SplitNames.Train), On(SplitNames.Validation), On(SplitNames.Test),
                new SplitConfig(saved.ValidationFraction, $"saved split '{saved.Name}'", saved.Id, saved.Name, saved.Kind, fold));
        }
        if (cases.Count < 2)
        {
            errors.Add(new FieldError(nameof(LaunchRequest.DatasetId), "The dataset needs at least 2 cases: one to train on and one to validate."));
            return null;
        }
        if (cases.Any(c => c.GroupKey is { Length: > 0 }) && cases.Select(c => c.GroupKey ?? c.Name).Distinct().Count() >= 2)
        {
            var plan = SplitPlan.Plan(cases.Select(c => new SplitCase(c.Name, c.GroupKey)), new SplitSpec(SplitKind.Random, request.Seed, ValidationFraction));
            var (trainNames, validationNames) = plan.Fold(0);
            var byName = cases.ToDictionary(c => c.Name, StringComparer.Ordinal);
            return new ChosenSplit(version, cases, [.. trainNames.Select(n => byName[n])], [.. validationNames.Select(n => byName[n])], [],
                new SplitConfig(ValidationFraction, "shuffle(sorted volumes, seed): whole volumes", Kind: "random"));
        }
        var (train, validation) = Split(cases, request.Seed);
        return new ChosenSplit(version, cases, train, validation, [], new SplitConfig(ValidationFraction, "shuffle(sorted names, seed)"));
    }

    /// <summary>The fixed 80/20 split, the engine's rule (the CLI's <c>medseg train</c> splits the same way).</summary>
    internal static (IReadOnlyList<DatasetCase> Train, IReadOnlyList<DatasetCase> Validation) Split(IEnumerable<DatasetCase> cases, int seed) =>
        DatasetSplit.Split(cases, c => c.Name, seed, ValidationFraction);

    /// <summary>Evaluated validation cases, worst Dice first; null when the experiment is not visible to the user.</summary>
    public async Task<IReadOnlyList<CaseResultView>?> GetCaseResultsAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await Visible(db, user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return null;
        var cases = await db.ExperimentCases.AsNoTracking().Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == id && c.Split == CaseSplit.Validation && c.Dice != null)
            .ToListAsync(ct);
        return [.. cases.OrderBy(c => c.Dice).ThenBy(c => c.DatasetCase!.Name, StringComparer.Ordinal).Select(c => new CaseResultView(
            c.DatasetCaseId, c.DatasetCase!.Name, c.Dice, c.IoU, c.Precision, c.Recall,
            CaseUrl(id, c.DatasetCaseId, CaseRendition.Image, 512),
            CaseUrl(id, c.DatasetCaseId, CaseRendition.Mask, 512),
            FileUrl(id, c.PredictionPath ?? "", 512),
            FileUrl(id, $"comparison/{c.DatasetCaseId:N}.png", 512),
            ClassDice.ParseNullable(c.ClassDiceJson))
        {
            Hd95 = c.Hd95,
            Assd = c.Assd,
            Hd95Mm = c.Hd95Mm,
            AssdMm = c.AssdMm,
            Fp = c.FalsePositives,
            Fn = c.FalseNegatives,
            TruthEmpty = c.DatasetCase.ForegroundFraction == 0,
            Classes = [.. ClassMetrics.Parse(c.ClassMetricsJson).Select(k => new ClassCaseResult(k.Class, k.Dice, k.IoU, k.Precision, k.Recall,
                k.Hd95, k.Assd, k.Hd95Mm, k.AssdMm, k.Fp, k.Fn, k.TruthEmpty))],
        })];
    }

    public async Task<ManageResult> CancelAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await Visible(db, user).AsTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return ManageResult.NotFound;
        if (!user.CanManage(e.OwnerId)) return ManageResult.Forbidden;
        if (e.Status is ExperimentStatus.Queued or ExperimentStatus.Running or ExperimentStatus.Interrupted)
        {
            e.Status = ExperimentStatus.Cancelled;
            e.FinishedAt = DateTimeOffset.UtcNow;
            await db.SaveChangesAsync(ct);
            running.Cancel(id);
            if (e.JobId is { } jobId) jobs.Delete(jobId);
            await notifier.StatusChangedAsync(new StatusChangedMessage(id, e.Status, "Cancelled by the user."));
            await notifications.RunEndedAsync(id, ExperimentStatus.Cancelled, user.Owns(e.OwnerId) ? "Cancelled by you." : $"Cancelled by {user.Name}.");
            await audit.WriteAsync(user, new AuditRecord(AuditActions.ExperimentCancel, "experiment", id.ToString(), e.Name));
        }
        return ManageResult.Done;
    }

    /// <summary>Re-enqueues an interrupted, failed or cancelled run; it continues from its last checkpoint, with its count of
    /// automatic restarts cleared. Refused (<see cref="ResumeResult.StillStopping"/>) while the process that ran it still
    /// holds its lease (a cancelled child is still stopping): a second execution must never enter a running experiment.</summary>
    public async Task<ResumeResult> ResumeAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await Visible(db, user).AsTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null) return ResumeResult.NotFound;
        if (!user.CanManage(e.OwnerId)) return ResumeResult.Forbidden;
        if (e.Status is ExperimentStatus.Interrupted or ExperimentStatus.Failed or ExperimentStatus.Cancelled)
        {
            var stale = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(jobsOptions.Value.StaleAfterSeconds);
            if (e.RunnerId is not null && e.HeartbeatAt >= stale) return ResumeResult.StillStopping;
            e.Status = ExperimentStatus.Queued;
            e.Error = null;
            e.FinishedAt = null;
            e.Restarts = 0;
            await db.SaveChangesAsync(ct);
            await EnqueueAsync(db, e, ct);
            await notifier.StatusChangedAsync(new StatusChangedMessage(id, e.Status, "Resumed from the last checkpoint."));
            await audit.WriteAsync(user, new AuditRecord(AuditActions.ExperimentResume, "experiment", id.ToString(), e.Name));
        }
        return ResumeResult.Resumed;
    }

    /// <summary>A PNG artifact of a run (path relative to the run folder) or a comparison rendition; null when not visible.</summary>
    public async Task<byte[]?> RenderArtifactAsync(Guid id, string path, int size, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var e = await Visible(db, user).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (e is null || !path.EndsWith(".png", StringComparison.OrdinalIgnoreCase)) return null;
        var runDir = store.ExperimentDirectory(id);
        if (path.StartsWith("cases/", StringComparison.Ordinal))
        {
            var parts = path.Split('/');
            if (parts.Length != 3 || !Guid.TryParseExact(parts[1], "N", out var caseId)
                || !Enum.TryParse<CaseRendition>(Path.GetFileNameWithoutExtension(parts[2]), ignoreCase: true, out var rendition)) return null;
            var c = await db.ExperimentCases.AsNoTracking().Where(x => x.ExperimentId == id && x.DatasetCaseId == caseId)
                .Select(x => x.DatasetCase).FirstOrDefaultAsync(ct);
            return c is null ? null : await datasets.RenderAsync(c, rendition, size, ct);
        }
        if (path.StartsWith(ReviewLabels.Folder + "/", StringComparison.Ordinal))
        {
            if (ReviewLabels.Parse(path) is not { } labels) return null;
            var c = await db.ExperimentCases.AsNoTracking().Include(x => x.DatasetCase)
                .FirstOrDefaultAsync(x => x.ExperimentId == id && x.DatasetCaseId == labels.CaseId && x.PredictionPath != null, ct);
            if (c is null) return null;
            var mask = labels.Source == LabelSource.Truth
                ? ArtifactStore.Resolve(store.DatasetDirectory(e.DatasetId), c.DatasetCase!.MaskPath)
                : ArtifactStore.Resolve(runDir, c.PredictionPath!);
            return await Task.Run(() => ImageRendering.LabelsPng(mask, size), ct);
        }
        if (path.StartsWith("comparison/", StringComparison.Ordinal))
        {
            if (!Guid.TryParse(Path.GetFileNameWithoutExtension(path), out var caseId)) return null;
            var c = await db.ExperimentCases.AsNoTracking().Include(x => x.DatasetCase)
                .FirstOrDefaultAsync(x => x.ExperimentId == id && x.DatasetCaseId == caseId && x.PredictionPath != null, ct);
            if (c is null) return null;
            var folder = store.DatasetDirectory(e.DatasetId);
            var image = ArtifactStore.Resolve(folder, c.DatasetCase!.ImagePath);
            var truth = ArtifactStore.Resolve(folder, c.DatasetCase.MaskPath);
            var predicted = ArtifactStore.Resolve(runDir, c.PredictionPath!);
            var colours = await datasets.ClassColoursAsync(e.DatasetId, ct);
            return await Task.Run(() => ImageRendering.ComparisonPng(image, truth, predicted, size, colours), ct);
        }
        string file;
        try
        {
            file = ArtifactStore.Resolve(runDir, path);
        }
        catch (ArgumentException)
        {
            return null;
        }
        if (!File.Exists(file)) return null;
        // Label maps: predictions hold the labels, previews label × ⌊255 / (K − 1)⌋; both are painted in the class colours
        // at any size (size 0 serves a binary file as stored).
        var classColours = await datasets.ClassColoursAsync(e.DatasetId, ct);
        if (classColours is null && size == 0) return await File.ReadAllBytesAsync(file, ct);
        var previewClasses = classColours is not null && path.StartsWith("previews/", StringComparison.Ordinal) ? classColours.Count : 0;
        return await Task.Run(() => ImageRendering.MaskPng(file, size, classColours, previewClasses), ct);
    }

    /// <summary>Puts the run in the fair training queue: Queued without a job from <see cref="Experiment.QueuedAt"/> on; the
    /// <see cref="TrainingDispatcher"/> creates its Hangfire job when a slot is free and the run's turn has come. A run that
    /// was running when its process died keeps its place in its owner's line (<paramref name="keepPlace"/>).</summary>
    internal async Task EnqueueAsync(MedSegDbContext db, Experiment experiment, CancellationToken ct, bool keepPlace = false)
    {
        var queuedAt = keepPlace ? experiment.QueuedAt ?? experiment.CreatedAt : DateTimeOffset.UtcNow;
        await db.Experiments.Where(x => x.Id == experiment.Id).ExecuteUpdateAsync(s => s
            .SetProperty(x => x.JobId, (string?)null)
            .SetProperty(x => x.QueuedAt, queuedAt), ct);
        experiment.JobId = null;
        experiment.QueuedAt = queuedAt;
        dispatcher.Kick();
    }

    /// <summary>URL of a rendition of one of the experiment's cases, served through the experiment so that whoever may see the
    /// experiment (a share) sees its cases without seeing the rest of the dataset.</summary>
    public static string CaseUrl(Guid experimentId, Guid caseId, CaseRendition rendition, int size) =>
        FileUrl(experimentId, $"cases/{caseId:N}/{rendition.ToString().ToLowerInvariant()}.png", size);

    /// <summary>URL of a run artifact, each path segment escaped (case names may hold spaces or parentheses).</summary>
    public static string FileUrl(Guid experimentId, string relativePath, int size) =>
        $"/api/experiments/{experimentId}/files/{string.Join('/', relativePath.Split('/').Select(Uri.EscapeDataString))}?size={size}";

    private async Task<IReadOnlyList<PreviewImage>> LatestPreviewsAsync(MedSegDbContext db, Experiment e, CancellationToken ct)
    {
        var previewsDir = Path.Combine(store.ExperimentDirectory(e.Id), "previews");
        if (!Directory.Exists(previewsDir)) return [];
        var latest = Directory.EnumerateDirectories(previewsDir, "epoch-*")
            .Select(d => (Dir: d, Epoch: int.TryParse(Path.GetFileName(d)["epoch-".Length..], out var n) ? n : -1))
            .Where(x => x.Epoch >= 0).OrderByDescending(x => x.Epoch).FirstOrDefault();
        if (latest.Dir is null) return [];
        var cases = await db.ExperimentCases.AsNoTracking().Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == e.Id && c.IsPreview).ToListAsync(ct);
        return [.. cases.OrderBy(c => c.DatasetCase!.Name, StringComparer.Ordinal)
            .Where(c => File.Exists(Path.Combine(latest.Dir, c.DatasetCase!.Name + ".png")))
            .Select(c => Preview(e.Id, c.DatasetCaseId, c.DatasetCase!.Name, latest.Epoch,
                $"previews/{Path.GetFileName(latest.Dir)}/{c.DatasetCase.Name}.png"))];
    }

    internal static PreviewImage Preview(Guid experimentId, Guid caseId, string caseName, int epoch, string relativePath) =>
        new(caseId, caseName, epoch,
            CaseUrl(experimentId, caseId, CaseRendition.Image, 256),
            CaseUrl(experimentId, caseId, CaseRendition.Mask, 256),
            FileUrl(experimentId, relativePath, 256));

    private static IQueryable<Experiment> Visible(MedSegDbContext db, UserContext user) =>
        Access.Experiments(db, user).AsNoTracking();

    internal static ExperimentSummary ToSummary(Experiment e, IReadOnlyDictionary<string, string> names, UserContext user) =>
        new(e.Id, e.Name, e.Model, e.DatasetId, e.Dataset?.Name ?? "", e.Status, e.CurrentEpoch, e.Epochs, e.BestDice, e.CreatedAt,
            People.Of(names, e.OwnerId), e.OwnerId, user.Owns(e.OwnerId), user.CanManage(e.OwnerId));

    internal static EpochPoint ToPoint(EpochMetric m) =>
        new(m.Epoch, m.TrainLoss, m.ValidationLoss, m.ValidationDice, m.ValidationIoU, m.LearningRate, m.Seconds, ClassDice.Parse(m.ClassDiceJson),
            m.VolumeDiceJson is { } volumes ? JsonSerializer.Deserialize<double[]>(volumes) : null);
}
