using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace MedSeg.Cli.Benchmarking;

/// <summary>What the PyTorch side reported: its environment, the conv ceilings and the model measurements.</summary>
public sealed class TorchBaselineResult
{
    public string? TorchVersion { get; set; }
    public int? Threads { get; set; }
    public List<string> Blas { get; } = [];
    public bool? MkldnnAvailable { get; set; }
    public List<CeilingResult> Ceilings { get; } = [];
    public List<Measurement> Models { get; } = [];
}

/// <summary>
/// The PyTorch twins of our UNeXt and U-Net (scripts/bench/torch_models.py, Debian's python3-torch) in a child
/// process driven one step at a time over its <c>--serve</c> line protocol, so that <see cref="ModelBenchmark"/> can
/// interleave our steps with PyTorch's: on a machine shared with other work both then see the same load, and the
/// ours/PyTorch ratio stays meaningful even when the absolute times drift.
/// </summary>
public sealed class TorchTwin : IDisposable
{
    /// <summary>Models the script has a PyTorch twin of (our registry names).</summary>
    public static readonly IReadOnlySet<string> Twins = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "unext", "unet" };

    public const string ScriptRelativePath = "scripts/bench/torch_models.py";

    private readonly Process process;
    private readonly System.Text.StringBuilder stderr = new();

    private TorchTwin(Process process, TorchBaselineResult info)
    {
        this.process = process;
        Info = info;
    }

    /// <summary>Environment reported at start; ceilings and models are added by <see cref="ModelBenchmark"/>.</summary>
    public TorchBaselineResult Info { get; }

    /// <summary>The script next to the CLI (copied at build) or under the current directory or its parents.</summary>
    public static string? FindScript()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "bench", "torch_models.py");
        if (File.Exists(beside)) return beside;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ScriptRelativePath);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>Starts the script in serve mode; throws <see cref="InvalidOperationException"/> with the reason when
    /// Python or torch is missing.</summary>
    public static TorchTwin Start(string python, string script, BenchConfig config)
    {
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     script, "--serve",
                     "--threads", config.Threads.ToString(CultureInfo.InvariantCulture),
                     "--batch", config.Batch.ToString(CultureInfo.InvariantCulture),
                     "--size", config.Size.ToString(CultureInfo.InvariantCulture),
                 })
        {
            info.ArgumentList.Add(a);
        }
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start '{python}'.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot run '{python}': {e.Message}", e);
        }
        var twin = new TorchTwin(process, new TorchBaselineResult());
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (twin.stderr) twin.stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        var env = twin.ReadReply();
        var o = env.RootElement;
        twin.Info.TorchVersion = o.GetProperty("torch").GetString();
        twin.Info.Threads = o.GetProperty("threads").GetInt32();
        twin.Info.MkldnnAvailable = o.GetProperty("mkldnn_available").GetBoolean();
        twin.Info.Blas.AddRange(o.GetProperty("blas").EnumerateArray().Select(e => e.GetString() ?? ""));
        return twin;
    }

    /// <summary>Loads a twin ("unet", "unext") or the ceiling conv ("ceiling") under <paramref name="id"/>; returns its
    /// parameters and MACs (per image for models, per call for the ceiling).</summary>
    public (long Parameters, long Macs) Load(int id, string model, bool channelsLast, bool mkldnn, int threads)
    {
        using var reply = Send(new { op = "load", id, model, channels_last = channelsLast, mkldnn, threads });
        return (reply.RootElement.GetProperty("params").GetInt64(), reply.RootElement.GetProperty("macs").GetInt64());
    }

    /// <summary>One forward ("fwd", with mode "inference_mode" or "no_grad") or train step ("train"): wall and CPU ms.</summary>
    public (double Ms, double CpuMs) Step(int id, string op, string? mode = null)
    {
        using var reply = Send(mode is null ? new { op, id } : new { op, id, mode });
        return (reply.RootElement.GetProperty("ms").GetDouble(), reply.RootElement.GetProperty("cpu_ms").GetDouble());
    }

    /// <summary>Zero gradients and one AdamW step, so that the optimizer state exists before the first train step.</summary>
    public void Prime(int id) => Send(new { op = "prime", id }).Dispose();

    public void Unload(int id)
    {
        try
        {
            Send(new { op = "unload", id }).Dispose();
        }
        catch (Exception e) when (e is TorchTwinException or IOException or InvalidOperationException)
        {
            // The process is gone; nothing to unload.
        }
    }

    public long ResetPeak()
    {
        using var reply = Send(new { op = "reset_peak" });
        return reply.RootElement.GetProperty("rss_kb").GetInt64();
    }

    public double PeakMb(long startKb)
    {
        using var reply = Send(new { op = "peak", start_kb = startKb });
        return reply.RootElement.GetProperty("peak_mb").GetDouble();
    }

    public bool Finite(int id)
    {
        using var reply = Send(new { op = "finite", id });
        return reply.RootElement.GetProperty("finite").GetBoolean();
    }

    private JsonDocument Send(object command)
    {
        process.StandardInput.WriteLine(JsonSerializer.Serialize(command));
        process.StandardInput.Flush();
        var reply = ReadReply();
        if (reply.RootElement.TryGetProperty("error", out var error))
        {
            var message = error.GetString();
            reply.Dispose();
            throw new TorchTwinException($"PyTorch: {message}");
        }
        return reply;
    }

    private JsonDocument ReadReply()
    {
        while (true)
        {
            var line = process.StandardOutput.ReadLine();
            if (line is null)
            {
                process.WaitForExit(5000);
                string tail;
                lock (stderr) tail = string.Join(" | ", stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3).Select(l => l.Trim()));
                throw new TorchTwinException($"the PyTorch script ended{(process.HasExited ? $" with exit code {process.ExitCode}" : "")}: {tail}");
            }
            if (line.StartsWith('{')) return JsonDocument.Parse(line);
        }
    }

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.StandardInput.WriteLine("{\"op\": \"quit\"}");
                process.StandardInput.Flush();
                if (!process.WaitForExit(10_000)) process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // Already gone.
        }
        process.Dispose();
    }
}

/// <summary>The PyTorch side failed (script error, Python exited).</summary>
public sealed class TorchTwinException(string message) : Exception(message);
