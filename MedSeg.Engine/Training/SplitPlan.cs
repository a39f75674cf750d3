using System.Text.RegularExpressions;
using MedSeg.Engine.Data;

namespace MedSeg.Engine.Training;

/// <summary>How cases are split: <c>random</c> (each case alone, or with the other slices of its volume), <c>grouped</c> (all
/// cases of a group, e.g. one patient, on one side; needs a group pattern or volumes) or <c>kfold</c> (k disjoint validation
/// folds, grouped whenever a group is known).</summary>
public enum SplitKind
{
    Random,
    Grouped,
    KFold,
}

/// <param name="ValidationFraction">Random and grouped: the share of groups that validate (ignored by k-fold).</param>
/// <param name="Folds">K-fold: how many folds (2 … 20).</param>
/// <param name="GroupPattern">A regular expression over the case name whose first capture group (or whole match) is the
/// group key, e.g. <c>^(patient\d+)_</c>; null = the group each case brings (its source volume), else the case itself.</param>
/// <param name="TestFraction">The share of groups held out as a fixed test split that no fold trains or validates on.</param>
public sealed record SplitSpec(SplitKind Kind, int Seed = 1, double ValidationFraction = DatasetSplit.DefaultValidationFraction, int Folds = 5,
    string? GroupPattern = null, double TestFraction = 0)
{
    /// <summary>Why the spec cannot be used, naming the field, or null.</summary>
    public string? Check()
    {
        if (Kind == SplitKind.KFold && Folds is < 2 or > 20) return "folds: k-fold needs 2 to 20 folds.";
        if (Kind != SplitKind.KFold && !(ValidationFraction > 0 && ValidationFraction < 1)) return "validationFraction: between 0 and 1 (exclusive).";
        if (!(TestFraction >= 0 && TestFraction < 1)) return "testFraction: at least 0 and below 1 (0 = no test split).";
        if (GroupPattern is { Length: > 0 } pattern)
        {
            try
            {
                _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                return $"groupPattern: not a valid regular expression ({e.Message}).";
            }
        }
        return null;
    }
}

/// <summary>One case to split: its name and, when it came from a volume, the volume's case id (its natural group).</summary>
public sealed record SplitCase(string Name, string? Group = null);

/// <summary>
/// A split of a dataset version: the fixed test cases, and one validation set per fold (random and grouped splits have
/// one fold). A fold trains on every case that is neither in its validation set nor in the test split. Groups never
/// straddle two sides: <see cref="Plan"/> assigns whole groups, and <see cref="CheckLeakage"/> refuses a split that does not.
/// </summary>
public sealed record SplitPlan(SplitSpec Spec, IReadOnlyDictionary<string, string> GroupOf, IReadOnlyList<string> Test,
    IReadOnlyList<IReadOnlyList<string>> Validation)
{
    public int FoldCount => Validation.Count;

    /// <summary>The training and validation case names of one fold (0-based), both sorted ordinally.</summary>
    public (IReadOnlyList<string> Train, IReadOnlyList<string> Validation) Fold(int fold)
    {
        if (fold < 0 || fold >= Validation.Count)
            throw new ArgumentOutOfRangeException(nameof(fold), $"This split has folds 0 … {Validation.Count - 1}; got {fold}.");
        var validation = Validation[fold].ToHashSet(StringComparer.Ordinal);
        var test = Test.ToHashSet(StringComparer.Ordinal);
        return ([.. GroupOf.Keys.Where(n => !validation.Contains(n) && !test.Contains(n)).Order(StringComparer.Ordinal)], Validation[fold]);
    }

    /// <summary>
    /// Splits cases by whole groups: the groups (sorted ordinally) are shuffled with <c>new Random(seed)</c>; the first
    /// round(G × testFraction) form the test split; the rest are dealt round-robin into k folds (k-fold), or the first
    /// round(rest × validationFraction) of them (at least 1, at most rest − 1) validate.
    /// </summary>
    public static SplitPlan Plan(IEnumerable<SplitCase> cases, SplitSpec spec)
    {
        var groupOf = GroupsOf(cases, spec);
        var groups = groupOf.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var needed = spec.Kind == SplitKind.KFold ? spec.Folds : 2;
        var testGroups = (int)Math.Round(groups.Length * spec.TestFraction);
        if (groups.Length - testGroups < needed)
        {
            throw new ArgumentException(
                $"The split needs at least {needed} groups outside the test split; the cases form {groups.Length} group(s)" +
                (testGroups > 0 ? $", {testGroups} of them held out for testing" : "") + ". Add cases, or check the group pattern.", nameof(cases));
        }
        new Random(spec.Seed).Shuffle(groups);
        var test = groups.Take(testGroups).ToHashSet(StringComparer.Ordinal);
        var rest = groups.Skip(testGroups).ToArray();
        List<HashSet<string>> folds;
        if (spec.Kind == SplitKind.KFold)
        {
            folds = [.. Enumerable.Range(0, spec.Folds).Select(_ => new HashSet<string>(StringComparer.Ordinal))];
            for (var i = 0; i < rest.Length; i++) folds[i % spec.Folds].Add(rest[i]);
        }
        else
        {
            var count = Math.Clamp((int)Math.Round(rest.Length * spec.ValidationFraction), 1, rest.Length - 1);
            folds = [rest.Take(count).ToHashSet(StringComparer.Ordinal)];
        }
        IReadOnlyList<string> Members(ISet<string> set) => [.. groupOf.Where(kv => set.Contains(kv.Value)).Select(kv => kv.Key).Order(StringComparer.Ordinal)];
        return new SplitPlan(spec, groupOf, Members(test), [.. folds.Select(Members)]);
    }

    /// <summary>The group of each case under <paramref name="spec"/>'s rule (see <see cref="Plan"/>), for checking a split
    /// that was given rather than planned. Throws, naming the field, for a bad spec, duplicate names, or a grouped split
    /// without a pattern or volumes.</summary>
    public static IReadOnlyDictionary<string, string> GroupsOf(IEnumerable<SplitCase> cases, SplitSpec spec)
    {
        if (spec.Check() is { } bad) throw new ArgumentException(bad, nameof(spec));
        var list = cases.ToList();
        var duplicate = list.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two cases are named '{duplicate.Key}'; case names must be distinct.", nameof(cases));
        var pattern = spec.GroupPattern is { Length: > 0 } p ? new Regex(p, RegexOptions.None, TimeSpan.FromSeconds(1)) : null;
        if (spec.Kind == SplitKind.Grouped && pattern is null && !list.Any(c => c.Group is { Length: > 0 }))
        {
            throw new ArgumentException("groupPattern: a grouped split needs a pattern that finds the patient in each case name " +
                                        "(e.g. ^(patient\\d+)_), or cases that came from volumes.", nameof(spec));
        }
        return list.ToDictionary(c => c.Name, c => GroupKey(c, spec, pattern), StringComparer.Ordinal);
    }

    /// <summary>
    /// Refuses any group that sits in two splits (a patient both trained and validated or tested on): one problem per such
    /// group, naming its cases in each split. <paramref name="splitOf"/> maps each case name to its split's name.
    /// </summary>
    public static IReadOnlyList<DatasetProblem> CheckLeakage(IReadOnlyDictionary<string, string> groupOf, IReadOnlyDictionary<string, string> splitOf)
    {
        var problems = new List<DatasetProblem>();
        foreach (var group in groupOf.GroupBy(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var sides = group.Where(splitOf.ContainsKey).GroupBy(n => splitOf[n], StringComparer.Ordinal).OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
            if (sides.Count < 2) continue;
            var detail = string.Join("; ", sides.Select(s => $"{s.Key}: {string.Join(", ", s.Order(StringComparer.Ordinal).Take(3))}{(s.Count() > 3 ? $" and {s.Count() - 3} more" : "")}"));
            problems.Add(new DatasetProblem(group.First(),
                $"group '{group.Key}' is in {sides.Count} splits ({detail}); all cases of one patient or volume must be on one side. " +
                "Move them to one split, or fix the group pattern."));
        }
        return problems;
    }

    /// <summary>The group of a case: the pattern's first capture (or whole match) on its name; else its own group (source
    /// volume: slices of one volume are never independent, so even a random split keeps them together); else the case
    /// itself. A name the pattern does not match is its own group.</summary>
    private static string GroupKey(SplitCase c, SplitSpec spec, Regex? pattern)
    {
        if (pattern?.Match(c.Name) is { Success: true } m) return m.Groups.Count > 1 && m.Groups[1].Success ? m.Groups[1].Value : m.Value;
        return pattern is null && c.Group is { Length: > 0 } g ? g : c.Name;
    }
}
