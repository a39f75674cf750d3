using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Sharing;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Experiments.Compare;

/// <summary>
/// Compare 2 … 10 runs (asked for by id, or as groups expanded to their members): their stored epoch curves, the snapshot
/// fields that differ (the <see cref="ExperimentConfig"/> flattened to dotted names, dataset version and split included),
/// final metrics with mean ± std per requested group (<see cref="GroupStatistics.Summarize"/>), and the evaluated cases with
/// each run's Dice, the largest spread between the runs first. Visibility is the experiments' (<see cref="Access"/>) and the
/// groups' (owner and admins): anything not visible is answered as not found, naming its id.
/// </summary>
public sealed class CompareService(IDbContextFactory<MedSegDbContext> contexts)
{
    public async Task<CompareResult> CompareAsync(CompareQuery query, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var groups = await ExperimentGroupService.Visible(db, user).Where(g => query.Groups.Contains(g.Id)).ToListAsync(ct);
        if (query.Groups.FirstOrDefault(id => groups.All(g => g.Id != id)) is var missingGroup && missingGroup != Guid.Empty)
            return new CompareResult(null, [], $"No experiment group {missingGroup} (or it is not yours to see).");
        var groupIds = groups.Select(g => g.Id).ToList();
        var visible = Access.Experiments(db, user).AsNoTracking().Include(e => e.Dataset);
        var asked = await visible.Where(e => query.Ids.Contains(e.Id)).ToListAsync(ct);
        if (query.Ids.FirstOrDefault(id => asked.All(e => e.Id != id)) is var missing && missing != Guid.Empty)
            return new CompareResult(null, [], $"No experiment {missing} (or it is not shared with you).");
        var members = await visible.Where(e => e.GroupId != null && groupIds.Contains(e.GroupId.Value)).ToListAsync(ct);

        // Runs in the order asked: the ids, then each group's members (by fold, seed, launch), each run once.
        var runs = new List<(Experiment Row, Guid? Group)>();
        foreach (var id in query.Ids) runs.Add((asked.Single(e => e.Id == id), null));
        foreach (var group in query.Groups)
        {
            foreach (var e in members.Where(m => m.GroupId == group).OrderBy(m => m.Fold ?? 0).ThenBy(m => m.Seed).ThenBy(m => m.CreatedAt))
                if (runs.All(r => r.Row.Id != e.Id)) runs.Add((e, group));
        }
        if (runs.Count is < CompareQuery.MinRuns or > CompareQuery.MaxRuns)
        {
            var field = query.Ids.Count == 0 ? "Groups" : "Ids";
            var what = query.Groups.Count == 0 ? $"{runs.Count} experiment{(runs.Count == 1 ? "" : "s")}"
                : $"{runs.Count} experiment{(runs.Count == 1 ? "" : "s")} (the groups counted by their members)";
            return new CompareResult(null, [new FieldError(field,
                $"Compare {CompareQuery.MinRuns} to {CompareQuery.MaxRuns} experiments; this asks for {what}.")]);
        }

        var ids = runs.Select(r => r.Row.Id).ToList();
        var epochs = (await db.EpochMetrics.AsNoTracking().Where(m => ids.Contains(m.ExperimentId)).ToListAsync(ct))
            .GroupBy(m => m.ExperimentId).ToDictionary(g => g.Key, g => g.OrderBy(m => m.Epoch).ToList());
        var curves = runs.Select(r => new RunCurve(r.Row.Id, Curve(epochs.GetValueOrDefault(r.Row.Id) ?? []))).ToList();
        var metrics = runs.Select(r => new RunMetrics(r.Row.Id,
            GroupStatistics.Final(r.Row.Status, r.Row.BestDice, epochs.GetValueOrDefault(r.Row.Id)?.LastOrDefault()))).ToList();
        var groupMetrics = groups.OrderBy(g => query.Groups.ToList().IndexOf(g.Id)).Select(g =>
        {
            var of = runs.Where(r => r.Group == g.Id).Select(r => new ExperimentGroupMember(r.Row.Id, r.Row.Name, r.Row.Seed, r.Row.Fold, r.Row.Status,
                metrics.Single(m => m.RunId == r.Row.Id).Metrics)).ToList();
            var (mean, std) = GroupStatistics.Summarize(of);
            return new GroupMetrics(g.Id, g.Name, of.Count, of.Count(m => m.Status == ExperimentStatus.Completed), mean, std);
        }).ToList();

        var view = new CompareView(
            [.. runs.Select(r => new CompareRun(r.Row.Id, r.Row.Name, r.Row.Model, r.Row.Status, r.Row.DatasetId, r.Row.Dataset?.Name ?? "",
                r.Row.DatasetVersion, r.Row.Epochs, r.Group))],
            curves,
            Differences([.. runs.Select(r => Flatten(r.Row))]),
            new CompareMetrics(metrics, groupMetrics),
            await CasesAsync(db, ids, ct));
        return new CompareResult(view, []);
    }

    /// <summary>The stored epochs as curve points, wall time summed over the epochs.</summary>
    internal static IReadOnlyList<CurvePoint> Curve(IEnumerable<EpochMetric> epochs)
    {
        var wall = 0.0;
        return [.. epochs.Select(m => new CurvePoint(m.Epoch, wall += m.Seconds, m.TrainLoss, m.ValidationLoss, m.ValidationDice, m.LearningRate))];
    }

    /// <summary>A run's snapshot as dotted field names with their JSON values (strings unquoted); the dataset version and the
    /// split of the run's columns stand in where an old snapshot lacks them.</summary>
    internal static IReadOnlyDictionary<string, string> Flatten(Experiment e)
    {
        var fields = Flatten(ExperimentConfig.Of(e).Serialize());
        fields.TryAdd("dataset.id", e.DatasetId.ToString());
        fields.TryAdd("dataset.version", e.DatasetVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (e.SplitId is { } split) fields.TryAdd("split.splitId", split.ToString());
        if (e.Fold is { } fold) fields.TryAdd("split.fold", fold.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return fields;
    }

    /// <summary>A JSON object flattened: nested objects to dotted names (<c>modelOptions.variant</c>), arrays and scalars as
    /// their JSON text, strings unquoted; a null object is left out where another run has its fields (see <see cref="Differences"/>).</summary>
    internal static Dictionary<string, string> Flatten(string json)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        Walk(document.RootElement, "", fields);
        return fields;
    }

    private static void Walk(JsonElement element, string prefix, Dictionary<string, string> fields)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
                Walk(property.Value, prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}", fields);
            return;
        }
        fields[prefix] = element.ValueKind == JsonValueKind.String ? element.GetString() ?? "" : element.GetRawText();
    }

    /// <summary>The fields whose value is not the same in every run, in the snapshot's order; a field a run lacks counts as
    /// different (null in its place). A field that is null in one run and an object in another (<c>weights</c>) is compared by
    /// the object's fields.</summary>
    internal static IReadOnlyList<ConfigDifference> Differences(IReadOnlyList<IReadOnlyDictionary<string, string>> runs)
    {
        var names = runs.SelectMany(r => r.Keys).Distinct(StringComparer.Ordinal).ToList();
        var parents = names.Where(n => names.Any(o => o.StartsWith(n + ".", StringComparison.Ordinal))).ToHashSet(StringComparer.Ordinal);
        var differences = new List<ConfigDifference>();
        foreach (var name in names.Where(n => !parents.Contains(n)))
        {
            var values = runs.Select(r => r.TryGetValue(name, out var v) && v != "null" ? v : null).ToList();
            if (values.Distinct(StringComparer.Ordinal).Count() > 1) differences.Add(new ConfigDifference(name, values));
        }
        return differences;
    }

    /// <summary>The cases any of the runs evaluated, with each run's Dice and prediction, the largest spread first (cases
    /// evaluated by one run only last), then by name.</summary>
    private static async Task<IReadOnlyList<ComparedCase>> CasesAsync(MedSegDbContext db, IReadOnlyList<Guid> ids, CancellationToken ct)
    {
        var rows = await db.ExperimentCases.AsNoTracking()
            .Where(c => ids.Contains(c.ExperimentId) && c.Split == CaseSplit.Validation && c.Dice != null)
            .Select(c => new { c.ExperimentId, c.DatasetCaseId, c.DatasetCase!.Name, c.Dice, c.PredictionPath })
            .ToListAsync(ct);
        return Order(rows.GroupBy(c => c.DatasetCaseId).Select(g =>
        {
            var first = g.First();
            var results = ids.Select(id => g.FirstOrDefault(c => c.ExperimentId == id) is { } c
                ? new CaseRunResult(id, c.Dice, c.PredictionPath is null ? null : ExperimentService.FileUrl(id, c.PredictionPath, 512))
                : new CaseRunResult(id, null, null)).ToList();
            return new ComparedCase(g.Key, first.Name, Spread(results.Select(r => r.Dice)),
                ExperimentService.CaseUrl(first.ExperimentId, g.Key, CaseRendition.Image, 512),
                ExperimentService.CaseUrl(first.ExperimentId, g.Key, CaseRendition.Mask, 512), results);
        }));
    }

    /// <summary>max − min over the values present; null with fewer than two.</summary>
    internal static double? Spread(IEnumerable<double?> values)
    {
        var present = values.OfType<double>().ToList();
        return present.Count < 2 ? null : present.Max() - present.Min();
    }

    /// <summary>Largest spread first; cases without a spread last; ties by name.</summary>
    internal static IReadOnlyList<ComparedCase> Order(IEnumerable<ComparedCase> cases) =>
        [.. cases.OrderBy(c => c.Spread is null).ThenByDescending(c => c.Spread).ThenBy(c => c.Name, StringComparer.Ordinal)];
}
