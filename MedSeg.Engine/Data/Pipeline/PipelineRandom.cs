namespace MedSeg.Engine.Data.Pipeline;

/// <summary>
/// The one determinism rule of the data pipeline: every random decision for case <c>index</c> in epoch <c>epoch</c>
/// comes from an RNG seeded by a pure function of (seed, epoch, index), so results depend neither on thread scheduling
/// nor on the worker count nor on resuming at epoch e. The epoch's shuffle uses <see cref="ShuffleIndex"/> as index.
/// </summary>
public static class PipelineRandom
{
    /// <summary>The index reserved for the epoch's shuffle (<see cref="EpochOrder"/>); case indices are ≥ 0.</summary>
    public const int ShuffleIndex = -1;

    /// <summary>SplitMix64-style hash of (seed, epoch, index); stable across .NET versions and platforms.</summary>
    public static ulong Hash(long seed, long epoch, long index)
    {
        var h = Mix(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL));
        h = Mix(h ^ unchecked((ulong)epoch * 0xBF58476D1CE4E5B9UL + 0x632BE59BD9B4E019UL));
        return Mix(h ^ unchecked((ulong)index * 0x94D049BB133111EBUL + 0x2545F4914F6CDD1DUL));
    }

    /// <summary><see cref="Hash"/> folded to a non-negative 31-bit seed for <see cref="Random(int)"/>.</summary>
    public static int Seed(int seed, int epoch, int index) => (int)(Hash(seed, epoch, index) >> 33);

    /// <summary>A new <see cref="Random"/> for case <paramref name="index"/> of <paramref name="epoch"/>. <c>new Random(int)</c>
    /// uses .NET's seeded (legacy, frozen) algorithm, so the draws are the same on every runtime.</summary>
    public static Random For(int seed, int epoch, int index) => new(Seed(seed, epoch, index));

    /// <summary>The epoch's order of <paramref name="count"/> cases: Fisher–Yates with <c>For(seed, epoch, ShuffleIndex)</c>.</summary>
    public static int[] EpochOrder(int seed, int epoch, int count)
    {
        var order = new int[count];
        for (var i = 0; i < count; i++) order[i] = i;
        For(seed, epoch, ShuffleIndex).Shuffle(order);
        return order;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
