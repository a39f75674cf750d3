namespace MedSeg.Engine.Isolation;

/// <summary>The memory a training or prediction child may use before its supervisor stops it.</summary>
public static class MemoryCeiling
{
    /// <summary>Memory this process may use (physical memory, or the container's limit where one is set).</summary>
    public static long PhysicalBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Three quarters of physical memory, shared by <paramref name="concurrentJobs"/>: the rest stays for the
    /// server, the operating system and its file cache. 24 GiB and one job: 18 GiB.</summary>
    public static long Default(int concurrentJobs) => PhysicalBytes / 4 * 3 / Math.Max(1, concurrentJobs);
}
