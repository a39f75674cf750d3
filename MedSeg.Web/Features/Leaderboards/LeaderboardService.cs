using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Models;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Leaderboards;

/// <summary>
/// "Benchmark all architectures": a leaderboard is an experiment group of kind <see cref="Kind"/> whose members are one run
/// per model (per fold on a k-fold split), each launched with the launch form's suggestions for that model
/// (<see cref="LaunchSuggestions"/>) and the same budget, through <see cref="ExperimentGroupService.LaunchMembersAsync"/>
/// (quota, memory admission and validation of every member before anything is stored). The training child of a member
/// measures the run after its evaluation (<see cref="Engine.Inference.RunProfile"/>, stored as <see cref="ExperimentProfile"/>);
/// the table is read from the stored runs.
/// </summary>
public sealed class LeaderboardService(IDbContextFactory<MedSegDbContext> contexts, ExperimentGroupService groups, Datasets.DatasetService datasets,
    IOptions<JobsOptions> jobs, IOptions<TrainingOptions> training)
{
    public const string Kind = "leaderboard";
    public const int MaxRuns = 50;
    public const double MaxTimeBudgetHours = 24 * 7;

    public async Task<GroupLaunchResult> LaunchAsync(LeaderboardRequest request, UserContext user, CancellationToken ct = default)
    {
        if (request.DatasetId is not { } datasetId) return Refused(nameof(request.DatasetId), "Choose a dataset (datasetId).");
        if (request.Epochs is null == request.TimeBudgetHours is null)
            return Refused(nameof(request.Epochs), "Give the budget as either epochs or timeBudgetHours, not both and not neither.");
        if (request.Epochs is { } e && (e < 1 || e > LaunchSuggestions.MaxEpochs))
            return Refused(nameof(request.Epochs), $"Epochs must be between 1 and {LaunchSuggestions.MaxEpochs}; got {e}.");
        if (request.TimeBudgetHours is { } h && (!double.IsFinite(h) || h <= 0 || h > MaxTimeBudgetHours))
            return Refused(nameof(request.TimeBudgetHours), $"timeBudgetHours must be above 0 and at most {MaxTimeBudgetHours} (a week); got {h}.");
        var models = new List<string>();
        foreach (var name in request.Models is { Count: > 0 } chosen ? chosen : [.. ModelRegistry.Names])
        {
            var model = (name ?? "").Trim().ToLowerInvariant();
            if (!ModelRegistry.Contains(model))
                return Refused(nameof(request.Models), $"Unknown architecture '{name}'. Choose from: {string.Join(", ", ModelRegistry.Names)}.");
            if (models.Contains(model)) return Refused(nameof(request.Models), $"'{model}' is listed twice; list each architecture once.");
            models.Add(model);
        }

        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await Access.Datasets(db, user).Where(d => d.Id == datasetId).Select(d => new { d.Name, d.Classes }).FirstOrDefaultAsync(ct);
        if (dataset is null) return Refused(nameof(request.DatasetId), "No such dataset; choose one of yours (GET /api/datasets).");
        var folds = new List<int?> { null };
        if (request.SplitId is { } splitId)
        {
            var split = await db.SavedSplits.AsNoTracking().Where(s => s.Id == splitId && s.DatasetId == datasetId)
                .Select(s => new { s.Folds }).FirstOrDefaultAsync(ct);
            if (split is null)
                return Refused(nameof(request.SplitId), "No such split of this dataset; choose one of its saved splits (GET /api/datasets/{id}/splits).");
            folds = [.. Enumerable.Range(0, Math.Max(1, split.Folds)).Select(f => (int?)f)];
        }
        if (models.Count * folds.Count > MaxRuns)
            return Refused(nameof(request.Models), $"{models.Count} models × {folds.Count} folds = {models.Count * folds.Count} runs; a leaderboard has at most {MaxRuns}. Choose fewer models.");
        if (await datasets.FingerprintAsync(datasetId, user, ct) is not { } fingerprint)
            return Refused(nameof(request.DatasetId), "No such dataset; choose one of yours (GET /api/datasets).");

        var members = new List<(string Label, LaunchRequest Request)>();
        var stem = string.IsNullOrWhiteSpace(request.Name) ? null : request.Name.Trim()[..Math.Min(request.Name.Trim().Length, 150)];
        foreach (var model in models)
        {
            var suggestions = LaunchSuggestions.For(fingerprint, model, ExperimentService.SizeMultiple(model), jobs.Value.EffectiveMemoryCeilingBytes,
                LaunchSuggestions.MaxSizeFor(training.Value.Device));
            foreach (var fold in folds)
            {
                var member = LaunchSuggestions.SuggestedRequest(datasetId, model, dataset.Classes, suggestions);
                if (request.Epochs is { } epochs) member.Epochs = epochs;
                member.TimeBudgetHours = request.TimeBudgetHours ?? 0;
                member.WarmupEpochs = Math.Min(member.WarmupEpochs, member.Epochs - 1);
                member.SplitId = request.SplitId;
                member.Fold = request.SplitId is null ? null : fold ?? 0;
                var label = fold is { } f && folds.Count > 1 ? $"{model} · fold {f}" : model;
                member.Name = $"{stem ?? "leaderboard"} · {label}";
                members.Add((label, member));
            }
        }
        var budget = new LeaderboardBudget(request.Epochs, request.TimeBudgetHours, models);
        return await groups.LaunchMembersAsync(members, user, datasetName => new ExperimentGroup
        {
            Id = Guid.NewGuid(),
            Name = stem ?? $"Leaderboard on {datasetName[..Math.Min(datasetName.Length, 150)]} · {(request.Epochs is { } n ? $"{n} epochs" : $"{request.TimeBudgetHours} h")}",
            OwnerId = user.UserId,
            DatasetId = datasetId,
            Kind = Kind,
            SplitId = request.SplitId,
            BaseJson = JsonSerializer.Serialize(budget, JsonSerializerOptions.Web),
        }, ct);
    }

    /// <summary>The user's leaderboards (admins: everyone's), newest first.</summary>
    public async Task<IReadOnlyList<LeaderboardSummary>> ListAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var boards = await Visible(db, user).OrderByDescending(g => g.CreatedAt).ToListAsync(ct);
        var ids = boards.Select(g => g.Id).ToList();
        var members = (await db.Experiments.AsNoTracking().Where(e => e.GroupId != null && ids.Contains(e.GroupId.Value))
            .Select(e => new { GroupId = e.GroupId!.Value, e.Model, e.Status }).ToListAsync(ct)).ToLookup(m => m.GroupId);
        return [.. boards.Select(g =>
        {
            var runs = members[g.Id].ToList();
            return new LeaderboardSummary(g.Id, g.Name, g.DatasetId, runs.Select(r => r.Model).Distinct().Count(), runs.Count,
                runs.Count(r => r.Status == ExperimentStatus.Completed), StatusOf(runs.Select(r => r.Status)), g.CreatedAt);
        })];
    }

    /// <summary>The table, from the stored runs: null when the leaderboard is not visible.</summary>
    public async Task<LeaderboardDetail?> GetAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var board = await Visible(db, user).FirstOrDefaultAsync(g => g.Id == id, ct);
        if (board is null) return null;
        var budget = JsonSerializer.Deserialize<LeaderboardBudget>(board.BaseJson, JsonSerializerOptions.Web);
        var datasetName = await db.Datasets.Where(d => d.Id == board.DatasetId).Select(d => d.Name).FirstOrDefaultAsync(ct) ?? "(deleted)";
        var runs = await db.Experiments.AsNoTracking().Where(e => e.GroupId == id)
            .Select(e => new { e.Id, e.Name, e.Model, e.Variant, e.Fold, e.Status, e.ImageSize, e.BatchSize, e.CreatedAt }).ToListAsync(ct);
        var runIds = runs.Select(r => r.Id).ToList();
        var scores = (await db.ExperimentCases.AsNoTracking()
                .Where(c => runIds.Contains(c.ExperimentId) && c.Split == CaseSplit.Validation && c.Dice != null)
                .Select(c => new { c.ExperimentId, Dice = c.Dice!.Value, c.IoU }).ToListAsync(ct))
            .GroupBy(c => c.ExperimentId)
            .ToDictionary(g => g.Key, g => (Dice: g.Average(c => c.Dice), IoU: g.Where(c => c.IoU != null).Select(c => c.IoU!.Value).DefaultIfEmpty(double.NaN).Average()));
        var seconds = (await db.EpochMetrics.AsNoTracking().Where(m => runIds.Contains(m.ExperimentId))
                .Select(m => new { m.ExperimentId, m.Seconds }).ToListAsync(ct))
            .GroupBy(m => m.ExperimentId).ToDictionary(g => g.Key, g => g.Sum(m => m.Seconds));
        var profiles = await db.ExperimentProfiles.AsNoTracking().Where(p => runIds.Contains(p.ExperimentId)).ToDictionaryAsync(p => p.ExperimentId, ct);

        var rows = runs.GroupBy(r => r.Model).Select(model =>
        {
            var members = model.OrderBy(r => r.Fold ?? 0).ThenBy(r => r.CreatedAt).Select(r =>
            {
                var done = r.Status == ExperimentStatus.Completed;
                var score = done && scores.TryGetValue(r.Id, out var s) ? s : ((double Dice, double IoU)?)null;
                var p = profiles.GetValueOrDefault(r.Id);
                return new LeaderboardRun(r.Id, r.Name, r.Fold, r.Status, score?.Dice, score is { IoU: var iou } && double.IsFinite(iou) ? iou : null,
                    p?.Hd95, seconds.TryGetValue(r.Id, out var t) ? t : null, p?.PeakMemoryBytes, p?.LatencyMs, p?.Device, p?.Error);
            }).ToList();
            var first = model.First();
            var profile = members.Select(m => profiles.GetValueOrDefault(m.ExperimentId)).FirstOrDefault(p => p?.Parameters is not null);
            var completed = members.Where(m => m.Status == ExperimentStatus.Completed).ToList();
            MeanStd Over(Func<LeaderboardRun, double?> value)
            {
                var values = completed.Select(value).OfType<double>().ToList();
                return new MeanStd(GroupStatistics.Mean(values), GroupStatistics.SampleStd(values));
            }
            return new LeaderboardRow(model.Key, first.Variant, first.ImageSize, first.BatchSize, StatusOf(members.Select(m => m.Status)),
                profile?.Parameters, profile?.Macs / 1e9, GroupStatistics.Mean([.. completed.Select(m => m.LatencyMs).OfType<double>()]),
                Over(m => m.Dice), Over(m => m.IoU), Over(m => m.Hd95), GroupStatistics.Mean([.. completed.Select(m => m.TrainingSeconds).OfType<double>()]),
                members.Select(m => m.PeakMemoryBytes).Max(), members);
        }).OrderByDescending(r => r.Dice.Mean ?? -1).ThenBy(r => r.Model, StringComparer.Ordinal).ToList();
        return new LeaderboardDetail(board.Id, board.Name, board.DatasetId, datasetName, board.SplitId, budget?.Epochs, budget?.TimeBudgetHours,
            StatusOf(runs.Select(r => r.Status)), board.CreatedAt, rows);
    }

    /// <summary>running while a run is queued, training or interrupted; completed when all completed; finished otherwise.</summary>
    public static string StatusOf(IEnumerable<ExperimentStatus> statuses)
    {
        var list = statuses.ToList();
        if (list.Any(s => s is ExperimentStatus.Queued or ExperimentStatus.Running or ExperimentStatus.Interrupted)) return "running";
        return list.Count > 0 && list.All(s => s == ExperimentStatus.Completed) ? "completed" : "finished";
    }

    private static IQueryable<ExperimentGroup> Visible(MedSegDbContext db, UserContext user)
    {
        var boards = db.ExperimentGroups.AsNoTracking().Where(g => g.Kind == Kind);
        return user.IsAdmin ? boards : boards.Where(g => g.OwnerId == user.UserId);
    }

    private static GroupLaunchResult Refused(string field, string message) => new(null, [], [new FieldError(field, message)]);
}
