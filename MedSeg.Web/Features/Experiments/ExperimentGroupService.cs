using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Features.Sharing;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// Experiment groups: one base request launched as N seeds, or once per fold of a saved split, as one action. The whole group
/// is checked first (the job quota for all N, then every member validated without storing anything); only then is the group
/// stored and each member launched through <see cref="ExperimentService.LaunchAsync(LaunchRequest, UserContext, CancellationToken)"/>
/// with the group's id. A group is seen by its owner and by admins; its members are ordinary experiments.
/// </summary>
public sealed class ExperimentGroupService(IDbContextFactory<MedSegDbContext> contexts, ExperimentService experiments, QuotaService quotas,
    ILogger<ExperimentGroupService> logger)
{
    public const int MaxMembers = 20;
    public const string SeedsKind = "seeds", FoldsKind = "folds";

    public async Task<GroupLaunchResult> LaunchAsync(GroupLaunchRequest request, UserContext user, CancellationToken ct = default)
    {
        if (request.Base is not { } baseRequest)
            return Refused(new FieldError("Base", "Give the base launch request (base: { datasetId, model, epochs, … })."));
        var (kind, members, error) = await MembersAsync(request, baseRequest, user, ct);
        if (error is not null) return Refused(error);

        return await LaunchMembersAsync(members, user, datasetName => new ExperimentGroup
        {
            Id = Guid.NewGuid(),
            Name = GroupName(request, baseRequest, kind, members.Count, datasetName),
            OwnerId = user.UserId,
            DatasetId = members[0].Request.DatasetId!.Value,
            Kind = kind,
            SplitId = kind == FoldsKind ? members[0].Request.SplitId : null,
            BaseJson = JsonSerializer.Serialize(baseRequest, JsonSerializerOptions.Web),
        }, ct);
    }

    /// <summary>Launches <paramref name="members"/> as one group (seeds, folds, a leaderboard): the job quota for all of them
    /// and every member validated first, nothing stored on a refusal; then the group (<paramref name="group"/>, given the
    /// dataset's name) and each member. A member without a name is named after its model, the dataset and its label.</summary>
    internal async Task<GroupLaunchResult> LaunchMembersAsync(List<(string Label, LaunchRequest Request)> members, UserContext user,
        Func<string, ExperimentGroup> group, CancellationToken ct)
    {
        // The user's launches are serialised while the group checks and queues: the quota counts all N members up front.
        using var slot = await quotas.LockJobsAsync(user, ct);
        if (await quotas.CheckJobsAsync(user, members.Count, ct) is { } overQuota)
            return new GroupLaunchResult(null, [], [new FieldError("", overQuota.Message)], overQuota);
        var errors = new List<FieldError>();
        foreach (var (label, member) in members)
        {
            var check = await experiments.LaunchAsync(member, user, new ExperimentService.LaunchMode(ValidateOnly: true, QuotaHeld: true), ct);
            errors.AddRange(check.Errors.Select(e => e with { Message = $"{label}: {e.Message}" }));
        }
        if (errors.Count > 0) return new GroupLaunchResult(null, [], [.. errors.DistinctBy(e => (e.Field, e.Message))]);

        var first = members[0].Request;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var datasetName = await db.Datasets.Where(d => d.Id == first.DatasetId).Select(d => d.Name).FirstAsync(ct);
        foreach (var (label, member) in members.Where(m => m.Request.Name is null))
            member.Name = $"{member.Model.ToLowerInvariant()} on {datasetName[..Math.Min(datasetName.Length, 150)]} · {label.ToLowerInvariant()}";
        var made = group(datasetName);
        db.ExperimentGroups.Add(made);
        await db.SaveChangesAsync(ct);
        var launched = new List<Guid>();
        foreach (var (label, member) in members)
        {
            var result = await experiments.LaunchAsync(member, user, new ExperimentService.LaunchMode(made.Id, QuotaHeld: true), ct);
            if (result.ExperimentId is { } id)
            {
                launched.Add(id);
                continue;
            }
            // Validated a moment ago under the user's lock: only a change in between (a dataset deleted) gets here. Undo.
            logger.LogWarning("Group {Group}: member {Label} refused after validation; cancelling the {Count} launched", made.Id, label, launched.Count);
            foreach (var done in launched) await experiments.CancelAsync(done, user, CancellationToken.None);
            await db.Experiments.Where(e => launched.Contains(e.Id)).ExecuteUpdateAsync(s => s.SetProperty(e => e.GroupId, (Guid?)null), CancellationToken.None);
            db.ExperimentGroups.Remove(made);
            await db.SaveChangesAsync(CancellationToken.None);
            return new GroupLaunchResult(null, [], [.. result.Errors.Select(e => e with { Message = $"{label}: {e.Message}" })], result.OverQuota);
        }
        logger.LogInformation("Group {Group} launched: {Kind}, {Count} members", made.Id, made.Kind, launched.Count);
        return new GroupLaunchResult(made.Id, launched, []);
    }

    /// <summary>The members' requests (the base with its seed or fold), labelled for messages; or the group's own error.</summary>
    private async Task<(string Kind, List<(string Label, LaunchRequest Request)> Members, FieldError? Error)> MembersAsync(
        GroupLaunchRequest request, LaunchRequest baseRequest, UserContext user, CancellationToken ct)
    {
        var seeds = request.Seeds is { Count: > 0 };
        var folds = !string.IsNullOrWhiteSpace(request.Folds);
        if (seeds == folds)
            return ("", [], new FieldError("Seeds", "Give either seeds (e.g. [1, 2, 3]) or folds: \"all\" with a saved split (splitId), not both."));
        if (seeds)
        {
            var list = request.Seeds!;
            if (list.Count < 2) return ("", [], new FieldError("Seeds", "A seeds group needs at least 2 seeds."));
            if (list.Count > MaxMembers) return ("", [], new FieldError("Seeds", $"A group has at most {MaxMembers} members; got {list.Count} seeds."));
            if (list.Any(s => s < 0)) return ("", [], new FieldError("Seeds", "Seeds are whole numbers from 0."));
            if (list.Distinct().Count() != list.Count) return ("", [], new FieldError("Seeds", "Each seed once: the same seed twice trains the same run twice."));
            return (SeedsKind, [.. list.Select(s => ($"Seed {s}", Member(baseRequest, s, baseRequest.SplitId, baseRequest.SplitId is null ? null : baseRequest.Fold, $"seed {s}")))], null);
        }
        if (!string.Equals(request.Folds!.Trim(), "all", StringComparison.OrdinalIgnoreCase))
            return ("", [], new FieldError("Folds", "folds takes \"all\": every fold of the saved split is a member."));
        if ((request.SplitId ?? baseRequest.SplitId) is not { } splitId)
            return ("", [], new FieldError("SplitId", "A folds group needs a saved k-fold split of the dataset (splitId; GET /api/datasets/{id}/splits)."));
        await using var db = await contexts.CreateDbContextAsync(ct);
        var visible = await Access.Datasets(db, user).AnyAsync(d => d.Id == baseRequest.DatasetId, ct);
        var split = !visible ? null : await db.SavedSplits.AsNoTracking().Where(s => s.Id == splitId && s.DatasetId == baseRequest.DatasetId)
            .Select(s => new { s.Name, s.Folds }).FirstOrDefaultAsync(ct);
        if (split is null)
            return ("", [], new FieldError("SplitId", "No such split of this dataset; choose one of its saved splits (GET /api/datasets/{id}/splits)."));
        if (split.Folds < 2)
            return ("", [], new FieldError("SplitId", $"Split '{split.Name}' has one fold; a folds group needs a k-fold split (k ≥ 2)."));
        if (split.Folds > MaxMembers)
            return ("", [], new FieldError("SplitId", $"A group has at most {MaxMembers} members; split '{split.Name}' has {split.Folds} folds."));
        return (FoldsKind, [.. Enumerable.Range(0, split.Folds).Select(f => ($"Fold {f}", Member(baseRequest, baseRequest.Seed, splitId, f, $"fold {f}")))], null);
    }

    private static LaunchRequest Member(LaunchRequest baseRequest, int seed, Guid? splitId, int? fold, string suffix)
    {
        var member = baseRequest.Copy();
        member.Seed = seed;
        member.SplitId = splitId;
        member.Fold = fold;
        var stem = string.IsNullOrWhiteSpace(baseRequest.Name) ? null : baseRequest.Name.Trim();
        member.Name = stem is null ? null : $"{stem[..Math.Min(stem.Length, 180)]} · {suffix}";
        return member;
    }

    private static string GroupName(GroupLaunchRequest request, LaunchRequest baseRequest, string kind, int count, string datasetName)
    {
        if (!string.IsNullOrWhiteSpace(request.Name)) return request.Name.Trim()[..Math.Min(request.Name.Trim().Length, 200)];
        var stem = string.IsNullOrWhiteSpace(baseRequest.Name) ? $"{baseRequest.Model.ToLowerInvariant()} on {datasetName}" : baseRequest.Name.Trim();
        var what = kind == SeedsKind ? $"seeds {string.Join(", ", request.Seeds!)}" : $"{count} folds";
        return $"{stem[..Math.Min(stem.Length, 150)]} · {what}";
    }

    /// <summary>The user's groups (admins: everyone's), newest first.</summary>
    public async Task<IReadOnlyList<ExperimentGroupSummary>> ListAsync(UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var groups = await Visible(db, user).OrderByDescending(g => g.CreatedAt).ToListAsync(ct);
        var ids = groups.Select(g => g.Id).ToList();
        var counts = await db.Experiments.Where(e => e.GroupId != null && ids.Contains(e.GroupId.Value))
            .GroupBy(e => e.GroupId!.Value)
            .Select(g => new { g.Key, Members = g.Count(), Completed = g.Count(e => e.Status == ExperimentStatus.Completed) })
            .ToDictionaryAsync(x => x.Key, ct);
        return [.. groups.Select(g => new ExperimentGroupSummary(g.Id, g.Name, g.Kind, g.DatasetId,
            counts.GetValueOrDefault(g.Id)?.Members ?? 0, counts.GetValueOrDefault(g.Id)?.Completed ?? 0, g.CreatedAt))];
    }

    /// <summary>A group with its members' status and final metrics, and their mean ± std; null when not visible.</summary>
    public async Task<ExperimentGroupDetail?> GetAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var group = await Visible(db, user).FirstOrDefaultAsync(g => g.Id == id, ct);
        if (group is null) return null;
        var rows = await db.Experiments.AsNoTracking().Where(e => e.GroupId == id)
            .Select(e => new { e.Id, e.Name, e.Seed, e.Fold, e.Status, e.BestDice, e.CreatedAt }).ToListAsync(ct);
        var memberIds = rows.Select(r => r.Id).ToList();
        var last = (await db.EpochMetrics.AsNoTracking().Where(m => memberIds.Contains(m.ExperimentId)).ToListAsync(ct))
            .GroupBy(m => m.ExperimentId).ToDictionary(g => g.Key, g => g.MaxBy(m => m.Epoch)!);
        var members = rows.OrderBy(r => r.Fold ?? 0).ThenBy(r => r.Seed).ThenBy(r => r.CreatedAt).Select(r =>
            new ExperimentGroupMember(r.Id, r.Name, r.Seed, r.Fold, r.Status, GroupStatistics.Final(r.Status, r.BestDice, last.GetValueOrDefault(r.Id)))).ToList();
        var (mean, std) = GroupStatistics.Summarize(members);
        return new ExperimentGroupDetail(group.Id, group.Name, group.Kind, group.DatasetId, group.SplitId, group.CreatedAt, members, mean, std);
    }

    /// <summary>Groups are seen by their owner and by admins.</summary>
    internal static IQueryable<ExperimentGroup> Visible(MedSegDbContext db, UserContext user) =>
        user.IsAdmin ? db.ExperimentGroups.AsNoTracking() : db.ExperimentGroups.AsNoTracking().Where(g => g.OwnerId == user.UserId);

    private static GroupLaunchResult Refused(FieldError error) => new(null, [], [error]);
}
