using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg devices</c>: what this machine's libtorch sees (CUDA or not, how many GPUs, cuDNN, CPU threads) and,
/// when <c>nvidia-smi</c> is on the PATH, each GPU's name and free memory. The check a GPU worker's operator runs after
/// pointing <c>LD_LIBRARY_PATH</c> at a CUDA libtorch; <c>--json</c> is what a worker node advertises on the Nodes page.</summary>
public sealed class DevicesCommand : ICommand
{
    public string Name => "devices";

    public string Summary => "Print the devices libtorch sees here (CUDA, GPUs and their memory, CPU threads)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("json", "One JSON object instead of text", IsFlag: true),
        new("check", "Also time UNeXt on the device auto picks: a training step (batch 8, 256²) and batch-1 inference", IsFlag: true),
        new("device", "The device of --check (auto, cpu, cuda, cuda:N)", "auto", ValueName: "DEVICE"),
    ];

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
        if (options.Has("check")) Check(options.Get("device") ?? "auto", output);
        if (!report.CudaAvailable)
        {
            output.WriteLine("No GPU is visible to libtorch. On a GPU node, point LD_LIBRARY_PATH at a libtorch 2.10 CUDA build " +
                             "(see the README, \"Several machines\") and run this again.");
        }
        return ExitCodes.Success;
    }

    /// <summary>UNeXt (1 class, 3 channels) on <paramref name="spec"/>: the median of 3 AdamW training steps at batch 8, 256², after
    /// 1 warm-up step, and the median of 20 batch-1 inferences at 256² after 3 warm-up calls (synchronised on CUDA).</summary>
    private static void Check(string spec, TextWriter output)
    {
        var device = MedSeg.Engine.Training.Devices.Resolve(spec);
        using var model = MedSeg.Engine.Models.ModelRegistry.Create("unext", new MedSeg.Engine.Models.ModelOptions(3, 1, null));
        model.to(device);
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: 1e-3);
        using var x = torch.rand(8, 3, 256, 256, device: device);
        using var y = torch.rand(8, 1, 256, 256, device: device).round();
        var steps = new List<double>();
        model.train();
        for (var i = 0; i < 4; i++)
        {
            var clock = Stopwatch.StartNew();
            using (torch.NewDisposeScope())
            {
                optimizer.zero_grad();
                using var logits = model.forward(x);
                using var loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y);
                loss.backward();
                optimizer.step();
                Synchronize(device);
            }
            if (i >= 1) steps.Add(clock.Elapsed.TotalMilliseconds);
        }
        var latencies = new List<double>();
        model.eval();
        using (torch.no_grad())
        using (var one = torch.rand(1, 3, 256, 256, device: device))
        {
            for (var i = 0; i < 23; i++)
            {
                var clock = Stopwatch.StartNew();
                using (torch.NewDisposeScope())
                {
                    using var p = model.forward(one);
                    Synchronize(device);
                }
                if (i >= 3) latencies.Add(clock.Elapsed.TotalMilliseconds);
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"check on {device}: UNeXt training step (batch 8, 256²) {Median(steps):F1} ms median of {steps.Count}; inference (batch 1, 256²) {Median(latencies):F2} ms median of {latencies.Count}"));
    }

    private static void Synchronize(torch.Device device)
    {
        if (device.type == DeviceType.CUDA) torch.cuda.synchronize(device);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
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
