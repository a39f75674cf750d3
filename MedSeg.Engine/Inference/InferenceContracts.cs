namespace MedSeg.Engine.Inference;

/// <summary>Per-case result of predicting a labeled case. <paramref name="PredictionPath"/> is the written 0/255 PNG mask.</summary>
public sealed record CasePrediction(string Name, string PredictionPath, double Dice, double IoU, double Precision, double Recall);
