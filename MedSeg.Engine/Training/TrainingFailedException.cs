namespace MedSeg.Engine.Training;

/// <summary>Training cannot go on (e.g. the loss became NaN); the message says why and what to change.</summary>
public sealed class TrainingFailedException(string message, Exception? inner = null) : Exception(message, inner);
