using System.Globalization;
using static TorchSharp.torch;

namespace MedSeg.Engine.Losses;

/// <summary>
/// Builds a loss from a short spec: terms joined by '+', each <c>[weight*]name[:arg,arg…]</c>, e.g. "dice+ce" (nnU-Net's
/// default), "bce+dice", "focal", "focal:2,0.25", "tversky:0.3,0.7", "tversky:0.3,0.7,0.75", "0.5*dice+ce". A single term is
/// returned as that loss; several as a <see cref="CompoundLoss"/>. Names are case-insensitive; see <see cref="Names"/>.
/// </summary>
public static class LossFactory
{
    private sealed record Entry(string Syntax, string Description, Func<double[], LossMode, nn.Module<Tensor, Tensor, Tensor>> Create, int MaxArgs);

    private static readonly SortedDictionary<string, Entry> Registry = new(StringComparer.Ordinal)
    {
        ["bce"] = new("bce[:pos_weight]", "binary cross-entropy with logits (Binary/Multilabel)",
            (a, m) => m == LossMode.Multiclass
                ? throw new ArgumentException("\"bce\" needs Binary or Multilabel mode; use \"ce\" for Multiclass.")
                : new BinaryCrossEntropyLoss(m, a.Length > 0 ? a[0] : null), 1),
        ["ce"] = new("ce", "cross-entropy: softmax CE in Multiclass mode, binary CE with logits in Binary/Multilabel",
            (_, m) => m == LossMode.Multiclass ? new CrossEntropyLoss() : new BinaryCrossEntropyLoss(m), 0),
        ["dice"] = new("dice[:smooth]", "soft Dice over the batch, smooth 1 by default",
            (a, m) => new DiceLoss(m, a.Length > 0 ? a[0] : 1.0), 1),
        ["focal"] = new("focal[:gamma[,alpha]]", "focal loss, gamma 2 by default; alpha (positive weight) in Binary/Multilabel only",
            (a, m) => new FocalLoss(m, a.Length > 0 ? a[0] : 2.0, a.Length > 1 ? a[1] : null), 2),
        ["tversky"] = new("tversky[:alpha,beta[,gamma]]", "Tversky (alpha weighs FP, beta FN; 0.3,0.7 by default), focal-Tversky with gamma",
            (a, m) => a.Length == 1
                ? throw new ArgumentException("\"tversky\" takes both alpha and beta (e.g. tversky:0.3,0.7) or neither.")
                : new TverskyLoss(m, a.Length > 0 ? a[0] : 0.3, a.Length > 1 ? a[1] : 0.7, a.Length > 2 ? a[2] : 1.0), 3),
    };

    /// <summary>Valid loss names, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. Registry.Keys];

    /// <summary>One line per name: syntax and meaning, for error messages and the UI.</summary>
    public static IReadOnlyList<string> Help => [.. Registry.Values.Select(e => $"{e.Syntax}: {e.Description}")];

    /// <param name="spec">e.g. "dice+ce".</param>
    /// <param name="mode">shape of logits and target.</param>
    /// <param name="classes">output channels of the model: 1 in Binary mode, ≥ 2 in Multiclass (background included), ≥ 1 in Multilabel.</param>
    public static nn.Module<Tensor, Tensor, Tensor> Create(string spec, LossMode mode, int classes)
    {
        CheckClasses(mode, classes);
        if (string.IsNullOrWhiteSpace(spec)) throw Invalid(spec, "the spec is empty");
        var terms = new List<(nn.Module<Tensor, Tensor, Tensor> Loss, double Weight)>();
        try
        {
            foreach (var raw in spec.Split('+'))
                terms.Add(Term(spec, raw.Trim(), mode));
        }
        catch
        {
            foreach (var (loss, _) in terms) loss.Dispose();
            throw;
        }
        return terms is [{ Weight: 1.0 } only] ? only.Loss : new CompoundLoss([.. terms]);
    }

    private static (nn.Module<Tensor, Tensor, Tensor>, double) Term(string spec, string term, LossMode mode)
    {
        if (term.Length == 0) throw Invalid(spec, "a term between '+' is empty");
        var weight = 1.0;
        var star = term.IndexOf('*');
        if (star >= 0)
        {
            weight = Number(spec, term[..star], "weight");
            term = term[(star + 1)..].Trim();
        }
        var colon = term.IndexOf(':');
        var name = (colon < 0 ? term : term[..colon]).Trim().ToLowerInvariant();
        var args = colon < 0 ? [] : term[(colon + 1)..].Split(',').Select(a => Number(spec, a, $"argument of \"{name}\"")).ToArray();
        if (!Registry.TryGetValue(name, out var entry))
            throw Invalid(spec, $"unknown loss \"{name}\"");
        if (args.Length > entry.MaxArgs)
            throw Invalid(spec, $"\"{name}\" takes at most {entry.MaxArgs} argument(s): {entry.Syntax}");
        try
        {
            return (entry.Create(args, mode), weight);
        }
        catch (ArgumentException e)
        {
            throw Invalid(spec, e.Message);
        }
    }

    private static double Number(string spec, string text, string what) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw Invalid(spec, $"the {what} \"{text.Trim()}\" is not a number");

    private static void CheckClasses(LossMode mode, int classes)
    {
        var ok = mode switch
        {
            LossMode.Binary => classes == 1,
            LossMode.Multiclass => classes >= 2,
            LossMode.Multilabel => classes >= 1,
            _ => false,
        };
        if (!ok)
            throw new ArgumentOutOfRangeException(nameof(classes),
                $"{mode} mode with {classes} classes: Binary needs 1 output channel, Multiclass at least 2 (background included), Multilabel at least 1.");
    }

    private static ArgumentException Invalid(string spec, string why) =>
        new($"Invalid loss \"{spec}\": {why}. Valid names: {string.Join(", ", Names)}. Syntax: terms joined by '+', each [weight*]name[:args], "
            + $"e.g. \"dice+ce\", \"bce+dice\", \"focal:2\", \"tversky:0.3,0.7\", \"0.5*dice+ce\". {string.Join("; ", Help)}.", nameof(spec));
}
