using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Leaderboards;

/// <summary><c>POST /api/leaderboards</c>: one run per architecture (all registered ones, or <see cref="Models"/>) on a dataset
/// and split, each with the launch form's suggested settings for that model and the same budget: <see cref="Epochs"/> or
/// <see cref="TimeBudgetHours"/>, exactly one of them.</summary>
public sealed class LeaderboardRequest
{
    public Guid? DatasetId { get; set; }
    /// <summary>A saved split of the dataset; a k-fold split runs every model on every fold (mean ± std over folds).</summary>
    public Guid? SplitId { get; set; }
    /// <summary>Architecture names (GET /api/models); null or empty = every registered one.</summary>
    public List<string>? Models { get; set; }
    public int? Epochs { get; set; }
    public double? TimeBudgetHours { get; set; }
    public string? Name { get; set; }
}

/// <summary>The budget every member gets, as stored in the group's <c>BaseJson</c>.</summary>
public sealed record LeaderboardBudget(int? Epochs, double? TimeBudgetHours, IReadOnlyList<string> Models);

public sealed record LeaderboardAccepted(Guid Id, IReadOnlyList<Guid> Members);

public sealed record LeaderboardSummary(Guid Id, string Name, Guid DatasetId, int Models, int Runs, int Completed, string Status, DateTimeOffset CreatedAt);

/// <summary>One run of a model (one per fold on a k-fold split). Dice and IoU: the mean over the validation cases of the
/// evaluated (best) checkpoint at the images' original size; HD95 in pixels from the run's measurement.</summary>
public sealed record LeaderboardRun(Guid ExperimentId, string Name, int? Fold, ExperimentStatus Status, double? Dice, double? IoU, double? Hd95,
    double? TrainingSeconds, long? PeakMemoryBytes, double? LatencyMs, string? Device, string? MeasurementError);

/// <summary>A value over the model's completed runs: mean, and sample std (n − 1) with two runs or more.</summary>
public sealed record MeanStd(double? Mean, double? Std);

/// <summary>One row of the table: an architecture with its size, measured latency, scores and costs over its runs.</summary>
public sealed record LeaderboardRow(string Model, string? Variant, int ImageSize, int BatchSize, string Status, long? Parameters, double? GMacs,
    double? LatencyMs, MeanStd Dice, MeanStd IoU, MeanStd Hd95, double? TrainingSeconds, long? PeakMemoryBytes, IReadOnlyList<LeaderboardRun> Runs);

/// <param name="Status">running (a member queued or training), completed (all completed), or finished (all ended, some did
/// not complete).</param>
public sealed record LeaderboardDetail(Guid Id, string Name, Guid DatasetId, string DatasetName, Guid? SplitId, int? Epochs, double? TimeBudgetHours,
    string Status, DateTimeOffset CreatedAt, IReadOnlyList<LeaderboardRow> Rows);
