using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg devices</c>: what this machine's libtorch sees (CUDA or not, how many GPUs, cuDNN, CPU threads) and,
/// when <c>nvidia-smi</c> is on the PATH, each GPU's name and free memory. The check a GPU worker's operator runs after
/// pointing <c>LD_LIBRARY_PATH</c> at a CUDA libtorch; <c>--json</c> is what a worker node advertises on the Nodes page.</summary>
public sealed class DevicesCommand : ICommand
{
    public string Name => "devices";

    public string Summary => "Print the devices libtorch sees here (CUDA, GPUs and their memory, CPU threads)";

    public IReadOnlyList<CommandOption> Options { get; } = [new("json", "One JSON object instead of text", IsFlag: true)];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var report = Probe();
        if (options.Has("json"))
        {
            output.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
            return ExitCodes.Success;
        }
        output.WriteLine($"libtorch: CUDA {(report.CudaAvailable ? "available" : "not available")}, {report.CudaDevices} GPU(s), cuDNN " +
                         $"{(report.CudnnAvailable ? "available" : "not available")}, {report.CpuThreads} CPU thread(s)");
        output.WriteLine($"device auto picks: {report.Auto}");
        foreach (var gpu in report.Gpus)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  cuda:{gpu.Index}  {gpu.Name}  {gpu.FreeMiB} MiB free of {gpu.TotalMiB} MiB"));
        }
        if (!report.CudaAvailable)
        {
            output.WriteLine("No GPU is visible to libtorch. On a GPU node, point LD_LIBRARY_PATH at a libtorch 2.10 CUDA build " +
                             "(see the README, \"Several machines\") and run this again.");
        }
        return ExitCodes.Success;
    }

    public static DeviceReport Probe()
    {
        var available = torch.cuda.is_available();
        var count = available ? torch.cuda.device_count() : 0;
        var cudnn = available && torch.cuda.is_cudnn_available();
        return new DeviceReport(available, count, cudnn, torch.get_num_threads(), available ? "cuda:0" : "cpu", available ? NvidiaSmi() : []);
    }

    /// <summary>Each GPU's name and memory from <c>nvidia-smi</c>; none when it is absent or fails.</summary>
    private static IReadOnlyList<GpuReport> NvidiaSmi()
    {
        try
        {
            var info = new ProcessStartInfo("nvidia-smi", "--query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info)!;
            var text = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(10_000) || process.ExitCode != 0) return [];
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => line.Split(',', StringSplitOptions.TrimEntries))
                .Where(p => p.Length == 4)
                .Select(p => new GpuReport(int.Parse(p[0], CultureInfo.InvariantCulture), p[1],
                    long.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[3], CultureInfo.InvariantCulture)))
                .ToList();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException or InvalidOperationException)
        {
            return [];
        }
    }
}

public sealed record DeviceReport(bool CudaAvailable, int CudaDevices, bool CudnnAvailable, int CpuThreads, string Auto, IReadOnlyList<GpuReport> Gpus);

public sealed record GpuReport(int Index, string Name, long TotalMiB, long FreeMiB);
