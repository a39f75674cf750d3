using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hangfire;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Infrastructure;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Nodes;

/// <summary>A node as the Nodes page and <c>GET /api/admin/nodes</c> show it: what it serves, the device its libtorch sees, free
/// memory (the GPU's where it has one, else the machine's), the runs it executes now and its last heartbeat.</summary>
public sealed record NodeView(string Name, string Role, IReadOnlyList<string> Queues, int TrainingWorkers, string Device, string? Gpu,
    long? FreeMemoryBytes, long? TotalMemoryBytes, int RunningJobs, string Machine, int ProcessId, DateTimeOffset StartedAt,
    DateTimeOffset HeartbeatAt, bool Alive);

/// <summary>
/// Where nodes advertise themselves: a set and one hash per node in Hangfire's job storage (the one store every node already
/// shares, whatever it is: SQLite, SQL Server or Redis), written by <see cref="NodeHeartbeatService"/> every
/// <see cref="Interval"/>. A node that has not written for <see cref="AliveFor"/> is shown as gone; after a day it is dropped.
/// </summary>
public sealed class NodeRegistry(JobStorage storage)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan AliveFor = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan DropAfter = TimeSpan.FromDays(1);
    private const string SetKey = "medseg:nodes";

    private static string HashKey(string name) => "medseg:node:" + name;

    public void Write(NodeView node)
    {
        using var connection = storage.GetConnection();
        using var tx = connection.CreateWriteTransaction();
        tx.AddToSet(SetKey, node.Name);
        tx.SetRangeInHash(HashKey(node.Name), new Dictionary<string, string>
        {
            ["json"] = JsonSerializer.Serialize(node, Json),
        });
        tx.Commit();
    }

    public void Remove(string name)
    {
        using var connection = storage.GetConnection();
        using var tx = connection.CreateWriteTransaction();
        tx.RemoveFromSet(SetKey, name);
        tx.RemoveHash(HashKey(name));
        tx.Commit();
    }

    /// <summary>Every node seen within a day, alive first, by name.</summary>
    public IReadOnlyList<NodeView> List()
    {
        using var connection = storage.GetConnection();
        var now = DateTimeOffset.UtcNow;
        var nodes = new List<NodeView>();
        foreach (var name in connection.GetAllItemsFromSet(SetKey))
        {
            var entries = connection.GetAllEntriesFromHash(HashKey(name));
            NodeView? node = null;
            if (entries is not null && entries.TryGetValue("json", out var json))
            {
                try
                {
                    node = JsonSerializer.Deserialize<NodeView>(json, Json);
                }
                catch (JsonException)
                {
                }
            }
            if (node is null || now - node.HeartbeatAt > DropAfter)
            {
                Remove(name);
                continue;
            }
            nodes.Add(node with { Alive = now - node.HeartbeatAt <= AliveFor });
        }
        return nodes.OrderByDescending(n => n.Alive).ThenBy(n => n.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>What one run asking for <paramref name="device"/> may use where it will train: the largest free GPU memory of the
    /// live GPU nodes serving <c>training-gpu</c> when the run goes there (<see cref="JobQueues.Route"/>: <c>cuda</c>, or
    /// <c>auto</c> while such a node is up), else <paramref name="local"/> (this node's ceiling for CPU runs).</summary>
    public long AdmissionCeiling(string? device, long local)
    {
        var gpus = List().Where(n => n.Alive && n.Queues.Contains(JobQueues.TrainingGpu) && n.Gpu is not null && n.FreeMemoryBytes is > 0).ToList();
        if (gpus.Count == 0) return local;
        var served = gpus.SelectMany(n => n.Queues).ToHashSet(StringComparer.Ordinal);
        return JobQueues.Route(device, served) == JobQueues.TrainingGpu ? gpus.Max(n => n.FreeMemoryBytes!.Value) : local;
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
}

/// <summary>Advertises this node (<see cref="NodeRegistry"/>) every <see cref="NodeRegistry.Interval"/> while it runs, and removes
/// it when it stops. The device is asked once, at start, of a <c>medseg devices --json</c> child (with the children's
/// environment, so a CUDA libtorch on <c>LD_LIBRARY_PATH</c> counts): the web process itself never loads libtorch.</summary>
public sealed class NodeHeartbeatService(NodeRegistry registry, NodeIdentity identity, RunningExperiments running,
    IOptions<JobsOptions> jobs, IOptions<TrainingOptions> training, ILogger<NodeHeartbeatService> logger) : BackgroundService
{
    private readonly DateTimeOffset started = DateTimeOffset.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = jobs.Value;
        var queues = options.RunServer ? JobQueues.Parse(options.Queues) : [];
        // A node told to train on the CPU needs no probe (nor libtorch's start-up in a child).
        var device = !options.RunServer ? null
            : training.Value.Device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase) ? new DeviceProbe(false, 0, [])
            : await ProbeAsync(options, stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                registry.Write(Describe(options, queues, device));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Could not advertise this node");
            }
            try
            {
                await Task.Delay(NodeRegistry.Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            registry.Remove(jobs.Value.ResolvedNodeName);
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Could not remove this node from the registry");
        }
    }

    private NodeView Describe(JobsOptions options, IReadOnlyList<string> queues, DeviceProbe? device)
    {
        var gpu = device?.Gpus.FirstOrDefault();
        var (free, total) = gpu is not null ? (gpu.FreeMiB * 1024L * 1024, gpu.TotalMiB * 1024L * 1024) : MachineMemory();
        var role = identity.Role.ToString().ToLowerInvariant();
        return new NodeView(options.ResolvedNodeName, role, queues, queues.Any(JobQueues.IsTraining) ? Math.Max(1, options.WorkerCount) : 0,
            device is null ? "none (web node)" : device.CudaAvailable ? $"cuda ({device.CudaDevices} GPU)" : "cpu", gpu?.Name,
            free, total, running.Count, Environment.MachineName, Environment.ProcessId, started, DateTimeOffset.UtcNow, Alive: true);
    }

    /// <summary>MemAvailable and MemTotal of /proc/meminfo; nulls elsewhere.</summary>
    internal static (long? Free, long? Total) MachineMemory()
    {
        try
        {
            long? Read(string[] lines, string key) => lines.FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal)) is { } line
                && long.TryParse(line[key.Length..].Trim().Split(' ')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : null;
            var lines = File.ReadAllLines("/proc/meminfo");
            return (Read(lines, "MemAvailable:"), Read(lines, "MemTotal:"));
        }
        catch (IOException)
        {
            return (null, null);
        }
    }

    private async Task<DeviceProbe?> ProbeAsync(JobsOptions options, CancellationToken ct)
    {
        try
        {
            var start = MedSeg.Engine.Isolation.ChildCommands.Verb("devices", ["--json"], "device probe");
            var info = new ProcessStartInfo(start.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            // medseg's own --parent-pipe flag is for supervised children; this one is a plain command.
            foreach (var a in start.Arguments.Where(a => a != MedSeg.Engine.Isolation.ChildCommands.ParentPipeFlag)) info.ArgumentList.Add(a);
            foreach (var (k, v) in options.ChildEnvironment) info.Environment[k] = v;
            using var process = Process.Start(info)!;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var output = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'));
            if (process.ExitCode == 0 && line is not null) return JsonSerializer.Deserialize<DeviceProbe>(line, new JsonSerializerOptions(JsonSerializerDefaults.Web));
            logger.LogWarning("medseg devices exited with {Code}; this node advertises its device as unknown", process.ExitCode);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Could not probe this node's devices (medseg devices --json)");
        }
        return new DeviceProbe(false, 0, []);
    }

    private sealed record DeviceProbe(bool CudaAvailable, int CudaDevices, IReadOnlyList<Gpu> Gpus);

    private sealed record Gpu(int Index, string Name, long TotalMiB, long FreeMiB);
}
