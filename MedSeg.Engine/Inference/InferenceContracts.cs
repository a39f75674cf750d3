namespace MedSeg.Engine.Inference;

/// <summary>Per-case result of predicting a labeled case. <paramref name="PredictionPath"/> is the written 0/255 PNG mask (label
/// indices for a multi-class model, whose Dice, IoU, precision and recall are the means over the foreground classes).</summary>
/// <param name="ClassDice">Multi-class models: the case's Dice of each foreground class 1 … K − 1 (index 0 = class 1; a class
/// absent from both masks scores 1, <see cref="Metrics.SegmentationMetrics"/>); null for binary.</param>
public sealed record CasePrediction(string Name, string PredictionPath, double Dice, double IoU, double Precision, double Recall,
    IReadOnlyList<double>? ClassDice = null);

/// <summary>A prediction before its decision: probabilities (sigmoid for one class, softmax otherwise) at the image's original
/// size, channel-major (<paramref name="Values"/>[c × H × W + y × W + x]).</summary>
public sealed record ProbabilityMap(int Channels, int Width, int Height, float[] Values);
