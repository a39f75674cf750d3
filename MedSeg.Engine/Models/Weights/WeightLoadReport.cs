using System.Text;

namespace MedSeg.Engine.Models.Weights;

/// <summary>A file tensor copied into the model (possibly adapted, see <see cref="WeightLoadReport.Adaptations"/>).</summary>
public sealed record LoadedWeight(string FileKey, string ModelKey);

/// <summary>A file key dropped on purpose (a classifier head the segmentation model has no use for).</summary>
public sealed record IgnoredWeight(string FileKey, string Reason);

/// <summary>A file tensor whose shape differs from the model's; it was not loaded.</summary>
public sealed record ShapeMismatch(string FileKey, string ModelKey, long[] FileShape, long[] ModelShape)
{
    public override string ToString() => $"{FileKey} → {ModelKey}: file {Shape(FileShape)}, model {Shape(ModelShape)}";

    internal static string Shape(long[] shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>A file tensor loaded after a change of shape (the first conv's input channels).</summary>
public sealed record WeightAdaptation(string ModelKey, long[] FileShape, long[] ModelShape, string Method)
{
    public override string ToString() =>
        $"{ModelKey}: {ShapeMismatch.Shape(FileShape)} → {ShapeMismatch.Shape(ModelShape)}, {Method}";
}

/// <summary>
/// What <see cref="PretrainedWeights.LoadInto"/> did, key by key. Every key of the file is in exactly one of
/// <see cref="Loaded"/>, <see cref="Ignored"/>, <see cref="Unexpected"/> and <see cref="ShapeMismatches"/>; every key of
/// the model is loaded, <see cref="Missing"/>, a <see cref="MissingCounters"/> entry, a shape mismatch, or
/// <see cref="Untouched"/> (outside the part of the model the file is meant for).
/// </summary>
public sealed record WeightLoadReport(
    string File,
    /// <summary><c>pytorch-zip</c> or <c>safetensors</c>, plus the wrapping dictionary key when there was one.</summary>
    string Format,
    /// <summary>The key map used (<c>identity</c>, <c>torchvision</c>, <c>mit</c>, or the prefix map given).</summary>
    string Mapping,
    IReadOnlyList<LoadedWeight> Loaded,
    /// <summary>Model keys in the mapped part of the model that the file does not have: they keep their initial values.</summary>
    IReadOnlyList<string> Missing,
    /// <summary>BatchNorm <c>num_batches_tracked</c> counters the file lacks (files from PyTorch before 0.4.1); they only
    /// matter for BatchNorm with momentum=None, which no MedSeg model uses, and stay 0.</summary>
    IReadOnlyList<string> MissingCounters,
    /// <summary>File keys that map to no key of the model.</summary>
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<IgnoredWeight> Ignored,
    IReadOnlyList<ShapeMismatch> ShapeMismatches,
    IReadOnlyList<WeightAdaptation> Adaptations,
    /// <summary>Model keys outside the mapped part (decoder and head when loading an encoder): left as initialised.</summary>
    IReadOnlyList<string> Untouched)
{
    /// <summary>True when the file covered its part of the model exactly: nothing missing, unexpected or mis-shaped.</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    /// <summary>Throws an <see cref="InvalidDataException"/> carrying <see cref="ToString"/> unless <see cref="IsComplete"/>.</summary>
    public WeightLoadReport ThrowIfIncomplete() =>
        IsComplete ? this : throw new InvalidDataException($"Pretrained weights did not fit the model.\n{this}");

    /// <summary>A readable account: counts, then every missing, unexpected, ignored, mis-shaped and adapted key.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"{File} ({Format}, key map {Mapping}): loaded {Loaded.Count}, missing {Missing.Count}, " +
                      $"unexpected {Unexpected.Count}, shape mismatches {ShapeMismatches.Count}, ignored {Ignored.Count}, " +
                      $"adapted {Adaptations.Count}, untouched model keys {Untouched.Count}.");
        void Section(string title, IEnumerable<string> lines)
        {
            var list = lines.ToList();
            if (list.Count == 0) return;
            sb.AppendLine($"{title}:");
            foreach (var l in list) sb.AppendLine($"  {l}");
        }
        Section("Missing (kept their initial values)", Missing);
        Section("Unexpected (not loaded)", Unexpected);
        Section("Shape mismatches (not loaded)", ShapeMismatches.Select(m => m.ToString()));
        Section("Adapted", Adaptations.Select(a => a.ToString()));
        Section("Ignored", Ignored.Select(i => $"{i.FileKey} ({i.Reason})"));
        if (MissingCounters.Count > 0)
            sb.AppendLine($"{MissingCounters.Count} BatchNorm num_batches_tracked counters absent from the file (left at 0).");
        return sb.ToString().TrimEnd();
    }
}
