namespace MedSeg.Engine.Training;

/// <summary>
/// Seeds derived from (seed, epoch, index…) that are the same in every process. <see cref="HashCode.Combine{T1,T2}"/> is
/// randomised per process, so a run resumed by a new process would draw other numbers; this mix (SplitMix64 finaliser
/// folded over the parts) is a pure function of its arguments.
/// </summary>
public static class Seeds
{
    public static int Combine(params ReadOnlySpan<long> parts)
    {
        var h = 0x9E3779B97F4A7C15UL;
        foreach (var p in parts) h = Mix(h ^ Mix(unchecked((ulong)p)));
        return unchecked((int)(h ^ (h >> 32)));
    }

    /// <summary>The torch generator seed of an epoch: seed × 1000 + epoch.</summary>
    public static long Torch(int seed, int epoch) => seed * 1000L + epoch;

    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
