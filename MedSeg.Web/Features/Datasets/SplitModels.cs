using System.Text.Json;
using MedSeg.Engine.Training;

namespace MedSeg.Web.Features.Datasets;

/// <summary>
/// Body of <c>POST /api/datasets/{id}/splits</c>. <see cref="Kind"/>, <see cref="Folds"/>, <see cref="GroupPattern"/>,
/// <see cref="TestFraction"/>, <see cref="Seed"/> and <see cref="ValidationFraction"/> are the engine's <see cref="SplitSpec"/>;
/// <see cref="Version"/> defaults to the latest. <see cref="Assignment"/> gives the split instead of planning it: case name →
/// train, validation or test (unnamed cases train); it is refused when a group (by the pattern, or the source volume) sits on
/// two sides.
/// </summary>
public sealed class SplitRequest
{
    public string? Kind { get; set; } = "random";
    public int Folds { get; set; } = 5;
    public string? GroupPattern { get; set; }
    public double TestFraction { get; set; }
    public int Seed { get; set; } = 1;
    public double ValidationFraction { get; set; } = SplitNames.DefaultValidationFraction;
    public int? Version { get; set; }
    public string? Name { get; set; }
    public Dictionary<string, string>? Assignment { get; set; }
}

/// <summary>The sides of a split and the request's kinds, spelt one way for the API, the form and the stored rows.</summary>
public static class SplitNames
{
    public const string Train = "train";
    public const string Validation = "validation";
    public const string Test = "test";
    public const double DefaultValidationFraction = 0.2;

    public static IReadOnlyList<string> Kinds { get; } = ["random", "grouped", "kfold"];

    /// <summary>The engine's kind for a request's (random, grouped, kfold; case-insensitive), or null.</summary>
    public static SplitKind? ParseKind(string? kind) => (kind ?? "").Trim().ToLowerInvariant() switch
    {
        "random" => SplitKind.Random,
        "grouped" => SplitKind.Grouped,
        "kfold" or "k-fold" => SplitKind.KFold,
        _ => null,
    };

    public static string Name(SplitKind kind) => kind == SplitKind.KFold ? "kfold" : kind.ToString().ToLowerInvariant();
}

/// <summary>One fold's sizes: cases and groups on each side (test is the same for every fold).</summary>
public sealed record FoldCount(int Fold, int Train, int Validation, int Test, int TrainGroups, int ValidationGroups, int TestGroups);

/// <summary>A saved split as the API and the splits panel show it; <see cref="Folds"/> has one entry for random and grouped.</summary>
public sealed record SavedSplitSummary(Guid Id, string Name, int Version, string Kind, int Seed, double ValidationFraction,
    string? GroupPattern, double TestFraction, int Groups, IReadOnlyList<FoldCount> Folds, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>
/// <see cref="MedSeg.Data.Entities.SavedSplit.AssignmentJson"/>: <c>{"test":[case ids], "folds":[[case ids], …], "counts":[…]}</c>,
/// the validation cases of each fold and the test cases (every other case of the version trains), with the sizes shown in lists.
/// Read and written only here.
/// </summary>
public sealed record SplitAssignment(IReadOnlyList<Guid> Test, IReadOnlyList<IReadOnlyList<Guid>> Folds, IReadOnlyList<FoldCount> Counts)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static SplitAssignment Parse(string json) =>
        JsonSerializer.Deserialize<SplitAssignment>(json, Json) ?? new SplitAssignment([], [], []);

    /// <summary>The side of each case of the version in one fold.</summary>
    public Dictionary<Guid, string> SidesOf(int fold, IEnumerable<Guid> cases)
    {
        var test = Test.ToHashSet();
        var validation = Folds[fold].ToHashSet();
        return cases.ToDictionary(id => id, id => test.Contains(id) ? SplitNames.Test : validation.Contains(id) ? SplitNames.Validation : SplitNames.Train);
    }
}

/// <summary>What creating a split did: the split, or field errors (field as in <see cref="SplitRequest"/>, camelCase; nothing
/// stored), or the dataset is not visible (404) / read-only for the user (403).</summary>
public sealed record SplitResult(SavedSplitSummary? Split, IReadOnlyList<Experiments.FieldError> Errors, bool NotFound = false, bool Forbidden = false);
