using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>The optimizers a <see cref="TrainingPlan"/> can name.</summary>
public static class Optimizers
{
    /// <summary>SGD momentum as nnU-Net (with Nesterov).</summary>
    public const double SgdMomentum = 0.99;

    public static IReadOnlyList<string> Names { get; } = ["adamw", "sgd"];

    public static OptimizerHelper Create(string name, IEnumerable<Parameter> parameters, double learningRate, double weightDecay) =>
        Normalize(name) switch
        {
            "adamw" => optim.AdamW(parameters, lr: learningRate, weight_decay: weightDecay),
            _ => optim.SGD(parameters, learningRate, momentum: SgdMomentum, weight_decay: weightDecay, nesterov: true),
        };

    /// <summary>Lowercase name, or an <see cref="ArgumentException"/> listing the valid ones.</summary>
    public static string Normalize(string? name)
    {
        var n = (name ?? "").Trim().ToLowerInvariant();
        return Names.Contains(n) ? n : throw new ArgumentException($"Unknown optimizer '{name}'. Use one of: {string.Join(", ", Names)}.", nameof(name));
    }

    public static string Describe(string name, double weightDecay) => Normalize(name) switch
    {
        "adamw" => $"AdamW (weight decay {weightDecay:G4})",
        _ => $"SGD (momentum {SgdMomentum}, Nesterov, weight decay {weightDecay:G4})",
    };
}
