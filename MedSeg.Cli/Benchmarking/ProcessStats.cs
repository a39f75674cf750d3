using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace MedSeg.Cli.Benchmarking;

/// <summary>
/// Peak memory and CPU use of a measured phase, read from Linux's /proc. Peak = VmHWM − VmRSS at the start of the
/// phase, after returning malloc's free memory to the system (<c>malloc_trim</c>) and resetting the high-water mark
/// (writing 5 to /proc/self/clear_refs). It is the whole process's resident growth: weights, gradients, optimizer
/// state, activations, oneDNN scratch and allocator slack. libtorch keeps no allocator statistics for CPU memory, so
/// this is the only figure that also compares with PyTorch (its script measures the same way).
/// </summary>
public static class ProcessStats
{
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static bool Supported => OperatingSystem.IsLinux() && File.Exists("/proc/self/status");

    /// <summary>Trims malloc, resets the peak; returns the resident set size in bytes the phase starts from.</summary>
    public static long ResetPeak()
    {
        if (!Supported) return 0;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: the figure then includes memory malloc kept from before the phase.
        }
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Kernel without peak reset: VmHWM then is the process's lifetime peak.
        }
        return ReadStatusBytes("VmRSS");
    }

    /// <summary>Peak resident growth in MiB since <see cref="ResetPeak"/> returned <paramref name="startBytes"/>.</summary>
    public static double PeakDeltaMb(long startBytes) => Supported ? (ReadStatusBytes("VmHWM") - startBytes) / (1024.0 * 1024.0) : double.NaN;

    private static long ReadStatusBytes(string key)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
            var parts = line[(key.Length + 1)..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }

    /// <summary>Process CPU time so far (all threads).</summary>
    public static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>The 1-minute load average, or NaN off Linux.</summary>
    public static double LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }
}
