namespace MedSeg.Engine.Training;

/// <summary>
/// Torch's per-epoch seed. Every other random decision of a training run (the epoch shuffle, each case's augmentation)
/// follows the one rule of <see cref="Data.Pipeline.PipelineRandom"/>: a pure function of (seed, epoch, index), the same
/// in every process (<see cref="HashCode.Combine{T1,T2}"/> is randomised per process and must not be used for this).
/// </summary>
public static class Seeds
{
    /// <summary>The torch generator seed of an epoch: seed × 1000 + epoch.</summary>
    public static long Torch(int seed, int epoch) => seed * 1000L + epoch;
}
