using System.Globalization;

namespace MedSeg.Engine.Models.Weights;

/// <summary>How well one weights file fits one model variant: the counts of its key report and the verdict
/// (<see cref="WeightFit.Decide"/>). <see cref="Report"/> is the key report's text.</summary>
public sealed record WeightFitResult(
    string Model,
    string Variant,
    bool Fits,
    /// <summary>The key map used (<c>identity</c>, <c>torchvision</c>, <c>mit</c>).</summary>
    string Mapping,
    /// <summary>The file's tensors less those dropped on purpose (classifier heads): what should load.</summary>
    int FileTensors,
    int Loaded,
    int Ignored,
    int Unexpected,
    int ShapeMismatches,
    int Missing,
    /// <summary>The model's tensors inside the key map's scope (its encoder for a backbone map, all of it for identity),
    /// BatchNorm counters left out.</summary>
    int ScopeTensors,
    int Adapted,
    string Report)
{
    public double FileFraction => FileTensors == 0 ? 0 : Loaded / (double)FileTensors;

    public double ScopeFraction => ScopeTensors == 0 ? 0 : Loaded / (double)ScopeTensors;

    /// <summary>"segformer b0" (the variant is left out for models with one variant).</summary>
    public string Target => WeightFit.Describe(Model, Variant);

    /// <summary>One line: "loaded 320 of 320 file tensors (100 %), covering 320 of 320 encoder tensors (100 %); 2 ignored, ...".</summary>
    public string Summary =>
        $"loaded {Loaded} of {FileTensors} file tensors ({Percent(FileFraction)}), covering {Loaded} of {ScopeTensors} tensors " +
        $"of the {(Mapping == WeightKeyMap.Identity.Name ? "model" : "encoder")} ({Percent(ScopeFraction)}); {Ignored} ignored, " +
        $"{Unexpected} unexpected, {ShapeMismatches} shape mismatches, {Missing} missing, {Adapted} adapted (key map {Mapping})";

    private static string Percent(double f) => (f * 100).ToString("0.#", CultureInfo.InvariantCulture) + " %";
}

/// <summary>What <c>medseg check-weights</c> writes: the file and its fit to every registered model variant.</summary>
public sealed record WeightsCheckReport(string File, string Format, int Tensors, IReadOnlyList<WeightFitResult> Results)
{
    public IReadOnlyList<WeightFitResult> Fits => [.. Results.Where(r => r.Fits)];

    /// <summary>The result closest to fitting (most tensors loaded, then the higher of the two fractions).</summary>
    public WeightFitResult? Closest => Results.OrderByDescending(r => Math.Min(r.FileFraction, r.ScopeFraction)).ThenByDescending(r => r.Loaded)
        .FirstOrDefault();

    public void Write(string path) => Isolation.ChildPlanFile.Write(path, this);

    public static WeightsCheckReport Read(string path) => Isolation.ChildPlanFile.Read<WeightsCheckReport>(path);
}

/// <summary>
/// Whether a pretrained weights file fits a model variant. The rule: the file <b>fits</b> when at least
/// <see cref="Threshold"/> (90 %) of the file's tensors load (tensors the key map drops on purpose, such as an ImageNet
/// classifier, do not count) <b>and</b> the loaded tensors cover at least 90 % of the model's tensors in the key map's
/// scope (the encoder for a torchvision or MiT backbone map, the whole model for a whole-model state dict; BatchNorm
/// <c>num_batches_tracked</c> counters do not count), and at least one tensor loads. A file with the wrong shapes
/// (MiT-B0 weights for SegFormer-B1) or the wrong names fails the first half; a file that is a small part of the
/// encoder fails the second.
/// </summary>
public static class WeightFit
{
    public const double Threshold = 0.9;

    /// <summary>The verdict and counts for a key report (a pure function of it).</summary>
    public static WeightFitResult Decide(string model, string variant, WeightLoadReport report)
    {
        var loaded = report.Loaded.Count;
        var file = loaded + report.Unexpected.Count + report.ShapeMismatches.Count;
        var scope = loaded + report.Missing.Count + report.ShapeMismatches.Count;
        var fits = loaded > 0 && loaded >= Threshold * file && loaded >= Threshold * scope;
        return new WeightFitResult(model, variant, fits, report.Mapping, file, loaded, report.Ignored.Count, report.Unexpected.Count,
            report.ShapeMismatches.Count, report.Missing.Count, scope, report.Adaptations.Count, report.ToString());
    }

    /// <summary>Builds <paramref name="model"/> (<paramref name="variant"/>, <paramref name="inChannels"/> input channels,
    /// <paramref name="classes"/> classes), loads <paramref name="file"/> into it with the key map chosen from its keys,
    /// and decides. Runs where a hostile file can do no harm: the web app calls it through <c>medseg check-weights</c>.</summary>
    public static WeightFitResult Check(StateDict file, string model, string? variant, int inChannels = 3, int classes = 1)
    {
        using var built = ModelRegistry.Create(model, new ModelOptions(inChannels, classes, variant));
        var resolved = (built as Blocks.IVariantModel)?.Variant ?? variant ?? Variants(model)[0];
        var report = PretrainedWeights.LoadInto(built, file);
        return Decide(model.ToLowerInvariant(), resolved, report);
    }

    /// <summary>Reads <paramref name="path"/> once and checks it against every registered model and variant
    /// (3 input channels, 1 class: the first conv adapts to other channel counts, the head is not in the file).</summary>
    public static WeightsCheckReport CheckAll(string path, CancellationToken ct = default)
    {
        using var file = StateDictFile.Read(path);
        var results = new List<WeightFitResult>();
        foreach (var (model, variant) in Targets)
        {
            ct.ThrowIfCancellationRequested();
            results.Add(Check(file, model, variant));
        }
        var format = file.Container is null ? file.Format : $"{file.Format}, under '{file.Container}'";
        return new WeightsCheckReport(Path.GetFileName(path), format, file.Tensors.Count, results);
    }

    /// <summary>Every registered model with each of its variants, in the registry's order.</summary>
    public static IReadOnlyList<(string Model, string Variant)> Targets =>
        [.. ModelRegistry.Names.SelectMany(m => Variants(m).Select(v => (m, v)))];

    /// <summary>The variants a model offers, the default first: the registry's metadata.</summary>
    public static IReadOnlyList<string> Variants(string model) => ModelRegistry.Get(model).VariantNames;

    /// <summary>The variant a request names, resolved against the registry (null = the default).</summary>
    public static string ResolveVariant(string model, string? variant) =>
        ModelRegistry.Get(model).FindVariant(variant) ?? throw new ArgumentException(
            $"Unknown variant '{variant}' for {model}. Choose one of: {string.Join(", ", Variants(model))}.", nameof(variant));

    /// <summary>"segformer b0"; "unext" alone when the model has one variant.</summary>
    public static string Describe(string model, string variant) =>
        ModelRegistry.Contains(model) && Variants(model).Count > 1 ? $"{model} {variant}" : model;
}
