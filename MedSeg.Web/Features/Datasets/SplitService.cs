using System.Text.RegularExpressions;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Datasets;

/// <summary>
/// Saved splits of a dataset version: planned by the engine (<see cref="SplitPlan.Plan"/>, whole groups) or given case by case,
/// and in both cases refused when <see cref="SplitPlan.CheckLeakage"/> finds a group on two sides. Experiments choose one and a fold.
/// </summary>
public sealed partial class SplitService(IDbContextFactory<MedSegDbContext> contexts, AuditLog audit)
{
    /// <summary>The splits of a visible dataset, newest first; null when it is not visible.</summary>
    public async Task<IReadOnlyList<SavedSplitSummary>?> ListAsync(Guid datasetId, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Access.Datasets(db, user).AnyAsync(d => d.Id == datasetId, ct)) return null;
        var rows = (await db.SavedSplits.AsNoTracking().Where(s => s.DatasetId == datasetId).ToListAsync(ct)).OrderByDescending(s => s.CreatedAt).ToList();
        var names = await People.NamesAsync(db, rows.Select(s => s.CreatedById), ct);
        return [.. rows.Select(s => DatasetService.ToSplitSummary(s, names))];
    }

    public async Task<SplitResult> CreateAsync(Guid datasetId, SplitRequest request, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await Access.Datasets(db, user).AsNoTracking().FirstOrDefaultAsync(d => d.Id == datasetId, ct);
        if (dataset is null) return new SplitResult(null, [], NotFound: true);
        if (!user.CanManage(dataset.OwnerId)) return new SplitResult(null, [], Forbidden: true);

        var errors = new List<FieldError>();
        var kind = SplitNames.ParseKind(request.Kind);
        if (kind is null) errors.Add(new FieldError("kind", $"Unknown split kind '{request.Kind}'. Choose one of: {string.Join(", ", SplitNames.Kinds)}."));
        var version = request.Version ?? dataset.Version;
        if (version < 1 || version > dataset.Version)
        {
            errors.Add(new FieldError("version", $"This dataset has versions 1 … {dataset.Version}; leave it out for the latest."));
        }
        if (request.Name is { Length: > 200 }) errors.Add(new FieldError("name", "At most 200 characters."));
        var pattern = string.IsNullOrWhiteSpace(request.GroupPattern) ? null : request.GroupPattern.Trim();
        if (pattern is { Length: > 400 }) errors.Add(new FieldError("groupPattern", "At most 400 characters."));
        var spec = new SplitSpec(kind ?? SplitKind.Random, request.Seed, request.ValidationFraction, request.Folds, pattern, request.TestFraction);
        if (kind is not null && spec.Check() is { } bad) errors.Add(Field(bad, "kind"));
        if (errors.Count > 0) return new SplitResult(null, errors);

        var cases = await DatasetVersions.CasesOf(db, datasetId, version).ToListAsync(ct);
        var ids = cases.ToDictionary(c => c.Name, c => c.Id, StringComparer.Ordinal);
        var splitCases = cases.Select(c => new SplitCase(c.Name, c.GroupKey)).ToList();
        IReadOnlyDictionary<string, string> groupOf;
        List<string> test;
        List<IReadOnlyList<string>> folds;
        try
        {
            if (request.Assignment is { } given)
            {
                groupOf = SplitPlan.GroupsOf(splitCases, spec);
                if (Given(given, ids, version, errors) is not { } sides) return new SplitResult(null, errors);
                test = [.. sides.Where(kv => kv.Value == SplitNames.Test).Select(kv => kv.Key)];
                folds = [[.. sides.Where(kv => kv.Value == SplitNames.Validation).Select(kv => kv.Key)]];
            }
            else
            {
                var plan = SplitPlan.Plan(splitCases, spec);
                (groupOf, test, folds) = (plan.GroupOf, [.. plan.Test], [.. plan.Validation]);
            }
        }
        catch (ArgumentException e)
        {
            var message = e.ParamName is { } p ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message;
            return new SplitResult(null, [Field(message, pattern is null ? (kind == SplitKind.KFold ? "folds" : "kind") : "groupPattern")]);
        }

        // Planned splits assign whole groups; the check guards given ones, and every fold of a planned one all the same.
        var counts = new List<FoldCount>();
        for (var k = 0; k < folds.Count; k++)
        {
            var sideOf = Sides(ids.Keys, test, folds[k]);
            foreach (var leak in SplitPlan.CheckLeakage(groupOf, sideOf))
            {
                errors.Add(new FieldError(request.Assignment is null ? "groupPattern" : "assignment", (folds.Count > 1 ? $"fold {k}: " : "") + leak.Problem));
            }
            int Count(string side) => sideOf.Count(kv => kv.Value == side);
            int Groups(string side) => sideOf.Where(kv => kv.Value == side).Select(kv => groupOf[kv.Key]).Distinct(StringComparer.Ordinal).Count();
            counts.Add(new FoldCount(k, Count(SplitNames.Train), Count(SplitNames.Validation), Count(SplitNames.Test),
                Groups(SplitNames.Train), Groups(SplitNames.Validation), Groups(SplitNames.Test)));
        }
        if (errors.Count > 0) return new SplitResult(null, errors);

        var split = new SavedSplit
        {
            Id = Guid.NewGuid(),
            DatasetId = datasetId,
            Version = version,
            Name = string.IsNullOrWhiteSpace(request.Name) ? DefaultName(spec, request.Assignment is not null, version) : request.Name.Trim(),
            Kind = SplitNames.Name(spec.Kind),
            Seed = spec.Seed,
            ValidationFraction = spec.ValidationFraction,
            Folds = folds.Count,
            GroupPattern = pattern,
            TestFraction = spec.TestFraction,
            AssignmentJson = new SplitAssignment([.. test.Select(n => ids[n])], [.. folds.Select(f => (IReadOnlyList<Guid>)[.. f.Select(n => ids[n])])], counts).Serialize(),
            Groups = groupOf.Values.Distinct(StringComparer.Ordinal).Count(),
            CreatedById = user.UserId,
        };
        db.SavedSplits.Add(split);
        await db.SaveChangesAsync(ct);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.SplitCreate, "dataset", datasetId.ToString(),
            $"{dataset.Name} version {version}: split '{split.Name}' ({split.Kind}, {split.Folds} fold(s), {split.Groups} groups)"));
        return new SplitResult(DatasetService.ToSplitSummary(split, new Dictionary<string, string> { [user.UserId] = user.Name }), []);
    }

    /// <summary>A given assignment checked name by name: every name a case of the version, every side train, validation or
    /// test; unnamed cases train. Null (with the errors) when it cannot be used.</summary>
    private static Dictionary<string, string>? Given(Dictionary<string, string> given, IReadOnlyDictionary<string, Guid> ids, int version, List<FieldError> errors)
    {
        var unknown = given.Keys.Where(n => !ids.ContainsKey(n)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            errors.Add(new FieldError("assignment", $"No case named {string.Join(", ", unknown.Take(5).Select(n => $"'{n}'"))}" +
                $"{(unknown.Count > 5 ? $" and {unknown.Count - 5} more" : "")} in version {version}; use the names of GET /api/datasets/{{id}}/cases?version={version}."));
        }
        var wrong = given.Where(kv => kv.Value?.Trim().ToLowerInvariant() is not (SplitNames.Train or SplitNames.Validation or SplitNames.Test)).ToList();
        if (wrong.Count > 0)
        {
            errors.Add(new FieldError("assignment", $"'{wrong[0].Key}' is assigned to '{wrong[0].Value}'; use train, validation or test."));
        }
        if (errors.Count > 0) return null;
        var sides = ids.Keys.ToDictionary(n => n, n => given.TryGetValue(n, out var side) ? side.Trim().ToLowerInvariant() : SplitNames.Train, StringComparer.Ordinal);
        if (!sides.ContainsValue(SplitNames.Validation) || !sides.ContainsValue(SplitNames.Train))
        {
            errors.Add(new FieldError("assignment", "A split needs at least one case to train on and one to validate."));
            return null;
        }
        return sides;
    }

    private static Dictionary<string, string> Sides(IEnumerable<string> names, IEnumerable<string> test, IEnumerable<string> validation)
    {
        var t = test.ToHashSet(StringComparer.Ordinal);
        var v = validation.ToHashSet(StringComparer.Ordinal);
        return names.ToDictionary(n => n, n => t.Contains(n) ? SplitNames.Test : v.Contains(n) ? SplitNames.Validation : SplitNames.Train, StringComparer.Ordinal);
    }

    private static string DefaultName(SplitSpec spec, bool given, int version) =>
        (given ? "given split" : spec.Kind switch
        {
            SplitKind.KFold => $"{spec.Folds}-fold",
            SplitKind.Grouped => "grouped",
            _ => "random",
        }) + (spec.GroupPattern is { } p ? $" by {p}" : "") + (given ? "" : $", seed {spec.Seed}") +
        (spec.TestFraction > 0 ? $", {spec.TestFraction:P0} test" : "") + $" (v{version})";

    /// <summary>A message "field: what is wrong" (SplitSpec.Check, the engine's refusals) as a field error; else under <paramref name="fallback"/>.</summary>
    private static FieldError Field(string message, string fallback) =>
        FieldPrefix().Match(message) is { Success: true } m ? new FieldError(m.Groups[1].Value, message) : new FieldError(fallback, message);

    [GeneratedRegex(@"^(kind|folds|validationFraction|testFraction|groupPattern|version): ")]
    private static partial Regex FieldPrefix();
}
