namespace MedSeg.Web.Features.Experiments;

/// <summary><c>POST /api/experiment-groups</c>: one base request launched several times, either once per seed
/// (<see cref="Seeds"/>) or once per fold of a saved k-fold split (<see cref="SplitId"/> with <see cref="Folds"/> "all").</summary>
public sealed class GroupLaunchRequest
{
    public LaunchRequest? Base { get; set; }
    /// <summary>Seeds group: one member per seed (distinct, at least 2).</summary>
    public List<int>? Seeds { get; set; }
    /// <summary>Folds group: the saved split whose every fold is a member (defaults to the base's split).</summary>
    public Guid? SplitId { get; set; }
    /// <summary>Folds group: "all" (the only value).</summary>
    public string? Folds { get; set; }
    /// <summary>The group's name; default: the base's name (or model and dataset) with the seeds or the fold count.</summary>
    public string? Name { get; set; }
}

/// <summary>What a group launch did: the group and its members, or the field errors (of the group, or of a member, named by its
/// seed or fold) or the quota refusal, with nothing stored.</summary>
public sealed record GroupLaunchResult(Guid? GroupId, IReadOnlyList<Guid> Members, IReadOnlyList<FieldError> Errors, Quotas.JobRefusal? OverQuota = null)
{
    public bool Succeeded => GroupId is not null;
}

public sealed record ExperimentGroupSummary(Guid Id, string Name, string Kind, Guid DatasetId, int Members, int Completed, DateTimeOffset CreatedAt);

/// <summary>The final metrics of one member (null until it completes): the best validation Dice (the checkpoint that is
/// evaluated), and the last epoch's validation Dice, IoU and loss.</summary>
public sealed record MemberMetrics(double? BestDice, double? FinalDice, double? FinalIoU, double? FinalValidationLoss);

public sealed record ExperimentGroupMember(Guid Id, string Name, int Seed, int? Fold, Data.Entities.ExperimentStatus Status, MemberMetrics Metrics);

/// <param name="Mean">Per metric (the <see cref="MemberMetrics"/> names, camelCase), the mean over completed members; null with none.</param>
/// <param name="Std">Per metric, the sample standard deviation (n − 1) over completed members; null with fewer than 2.</param>
public sealed record ExperimentGroupDetail(Guid Id, string Name, string Kind, Guid DatasetId, Guid? SplitId, DateTimeOffset CreatedAt,
    IReadOnlyList<ExperimentGroupMember> Members, IReadOnlyDictionary<string, double?> Mean, IReadOnlyDictionary<string, double?> Std)
{
    public int Completed => Members.Count(m => m.Status == Data.Entities.ExperimentStatus.Completed);
}

/// <summary>Mean and sample standard deviation of the members' final metrics.</summary>
public static class GroupStatistics
{
    public const string BestDice = "bestDice", FinalDice = "finalDice", FinalIoU = "finalIoU", FinalValidationLoss = "finalValidationLoss";

    /// <summary>One metric's value as the group and compare pages show it (a loss with 4 decimals, the others with 3).</summary>
    public static string Show(string key, double? v) =>
        key == FinalValidationLoss ? v is { } x ? Shared.Format.Loss(x) : "—" : Shared.Format.Metric(v);

    /// <summary>"mean ± std" of one metric over a group's completed members ("(one member)" without a std; "—" without any).</summary>
    public static string ShowMeanStd(IReadOnlyDictionary<string, double?> mean, IReadOnlyDictionary<string, double?> std, string key) =>
        mean.GetValueOrDefault(key) is not { } m ? "—"
            : std.GetValueOrDefault(key) is { } s ? $"{Show(key, m)} ± {Show(key, s)}" : $"{Show(key, m)} (one member)";

    /// <summary>The metrics in display order, with their labels.</summary>
    public static IReadOnlyList<(string Key, string Label)> Metrics { get; } =
    [
        (BestDice, "Best validation Dice"), (FinalDice, "Final validation Dice"), (FinalIoU, "Final validation IoU"),
        (FinalValidationLoss, "Final validation loss"),
    ];

    /// <summary>A run's final metrics: null until it completes; then its best validation Dice and its last epoch's
    /// validation Dice, IoU and loss.</summary>
    public static MemberMetrics Final(Data.Entities.ExperimentStatus status, double? bestDice, Data.Entities.EpochMetric? last)
    {
        if (status != Data.Entities.ExperimentStatus.Completed) return new MemberMetrics(null, null, null, null);
        return new MemberMetrics(bestDice, last?.ValidationDice, last?.ValidationIoU, last?.ValidationLoss);
    }

    public static double? Mean(IReadOnlyList<double> values) => values.Count == 0 ? null : values.Average();

    /// <summary>√(Σ (x − x̄)² / (n − 1)); null for fewer than 2 values.</summary>
    public static double? SampleStd(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return null;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    public static double? Of(MemberMetrics m, string key) => key switch
    {
        BestDice => m.BestDice,
        FinalDice => m.FinalDice,
        FinalIoU => m.FinalIoU,
        FinalValidationLoss => m.FinalValidationLoss,
        _ => throw new ArgumentException($"Unknown metric '{key}'.", nameof(key)),
    };

    /// <summary>Mean and std per metric over the completed members (a metric a member lacks is left out for that member).</summary>
    public static (Dictionary<string, double?> Mean, Dictionary<string, double?> Std) Summarize(IEnumerable<ExperimentGroupMember> members)
    {
        var completed = members.Where(m => m.Status == Data.Entities.ExperimentStatus.Completed).ToList();
        var mean = new Dictionary<string, double?>();
        var std = new Dictionary<string, double?>();
        foreach (var (key, _) in Metrics)
        {
            var values = completed.Select(m => Of(m.Metrics, key)).OfType<double>().ToList();
            mean[key] = Mean(values);
            std[key] = SampleStd(values);
        }
        return (mean, std);
    }
}
