namespace MedSeg.Engine.Training;

/// <summary>
/// Learning rate per epoch (set at the start of each epoch, a pure function of the plan and the epoch, so a resumed run
/// gets the same rates):
/// <list type="bullet">
/// <item>"cosine": linear warm-up over <see cref="TrainingPlan.WarmupEpochs"/> (lr × e / (W + 1)… reaching lr at epoch W + 1),
/// then cosine from lr to <see cref="MinLearningRateFactor"/> × lr over the remaining epochs.</item>
/// <item>"poly": nnU-Net's lr × (1 − (e − 1) / epochs)^0.9.</item>
/// <item>"constant": lr.</item>
/// </list>
/// </summary>
public static class Schedules
{
    /// <summary>The cosine schedule ends at this fraction of the initial learning rate.</summary>
    public const double MinLearningRateFactor = 0.01;
    public const double PolyExponent = 0.9;

    public static IReadOnlyList<string> Names { get; } = ["cosine", "poly", "constant"];

    public static string Normalize(string? name)
    {
        var n = (name ?? "").Trim().ToLowerInvariant();
        return Names.Contains(n) ? n : throw new ArgumentException($"Unknown schedule '{name}'. Use one of: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <param name="epoch">1-based epoch.</param>
    public static double LearningRate(string schedule, double lr, int epoch, int epochs, int warmupEpochs = 0)
    {
        switch (Normalize(schedule))
        {
            case "constant":
                return lr;
            case "poly":
                return lr * Math.Pow(Math.Max(0, 1 - (double)(epoch - 1) / epochs), PolyExponent);
            default:
                if (epoch <= warmupEpochs) return lr * epoch / (warmupEpochs + 1);
                var min = lr * MinLearningRateFactor;
                var span = Math.Max(1, epochs - warmupEpochs);
                return min + (lr - min) * 0.5 * (1 + Math.Cos(Math.PI * (epoch - 1 - warmupEpochs) / span));
        }
    }

    public static double LearningRate(TrainingPlan plan, int epoch) =>
        LearningRate(plan.Schedule, plan.LearningRate, epoch, plan.Epochs, plan.WarmupEpochs);

    public static string Describe(TrainingPlan plan) => Normalize(plan.Schedule) switch
    {
        "constant" => "constant, set per epoch",
        "poly" => $"poly (1 − (epoch − 1)/epochs)^{PolyExponent} as nnU-Net, set per epoch",
        _ => (plan.WarmupEpochs > 0 ? $"linear warm-up over {plan.WarmupEpochs} epoch(s), then " : "") +
             $"cosine over epochs to {MinLearningRateFactor} × learning rate, set per epoch",
    };
}
