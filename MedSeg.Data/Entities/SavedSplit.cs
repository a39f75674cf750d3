namespace MedSeg.Data.Entities;

/// <summary>
/// A split saved with a dataset version: its rule (kind, seed, fractions, folds, group pattern) and the resulting assignment
/// of every case of that version, so an experiment that chooses it (and a fold) trains on exactly these cases.
/// </summary>
public sealed class SavedSplit
{
    public Guid Id { get; set; }
    public Guid DatasetId { get; set; }
    /// <summary>The dataset version it splits.</summary>
    public int Version { get; set; }
    public required string Name { get; set; }
    /// <summary>"random", "grouped" or "kfold" (the engine's SplitKind, lowercase).</summary>
    public required string Kind { get; set; }
    public int Seed { get; set; }
    public double ValidationFraction { get; set; }
    public int Folds { get; set; }
    public string? GroupPattern { get; set; }
    public double TestFraction { get; set; }
    /// <summary>JSON <c>{"test":[case ids], "folds":[[case ids], …]}</c>: the validation cases of each fold and the test cases
    /// (random and grouped splits have one fold); every other case of the version trains.</summary>
    public required string AssignmentJson { get; set; }
    public int Groups { get; set; }
    public required string CreatedById { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
}
