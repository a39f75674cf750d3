namespace MedSeg.Web.Infrastructure;

/// <summary>
/// The job queues of a deployment and how a run is routed to one. Training queues: <c>training</c> (a node of any device),
/// <c>training-gpu</c> (nodes with CUDA) and <c>training-cpu</c>; predictions: <c>predict</c> (with Hangfire's <c>default</c>).
/// Each node serves the queues of <see cref="JobsOptions.Queues"/>. A run asks for a device (the node default
/// <see cref="TrainingOptions.Device"/> when it asks nothing); <see cref="Route"/> picks the first queue of its preference
/// that a live server serves: <c>auto</c> prefers GPU nodes when any serves <c>training-gpu</c>.
/// </summary>
public static class JobQueues
{
    public const string Training = JobsExtensions.TrainingQueue;
    public const string TrainingGpu = "training-gpu";
    public const string TrainingCpu = "training-cpu";
    public const string Predict = JobsExtensions.PredictQueue;

    public static readonly IReadOnlyList<string> Known = [Training, TrainingGpu, TrainingCpu, Predict];

    public static bool IsTraining(string queue) => queue is Training or TrainingGpu or TrainingCpu;

    /// <summary>The queues of <paramref name="setting"/> (comma-separated), checked; throws naming the setting and the bad name.</summary>
    public static IReadOnlyList<string> Parse(string? setting)
    {
        var queues = (setting ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(q => q.ToLowerInvariant()).Distinct().ToList();
        var unknown = queues.Where(q => !Known.Contains(q)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"MedSeg:Jobs:Queues (MedSeg__Jobs__Queues) names unknown queue(s) {string.Join(", ", unknown.Select(q => $"'{q}'"))}: " +
                                                $"use a comma-separated list of {string.Join(", ", Known)}.");
        }
        return queues;
    }

    /// <summary>The training queues a run asking for <paramref name="device"/> may go to, best first.</summary>
    public static IReadOnlyList<string> Preference(string? device)
    {
        var d = (device ?? "auto").Trim().ToLowerInvariant();
        if (d.StartsWith("cuda", StringComparison.Ordinal)) return [TrainingGpu, Training];
        if (d == "cpu") return [TrainingCpu, Training];
        return [TrainingGpu, Training, TrainingCpu];
    }

    /// <summary>The queue for a run asking for <paramref name="device"/>, given the queues live servers serve now; the generic
    /// <c>training</c> queue when none of its preference is served (it then waits for such a node).</summary>
    public static string Route(string? device, IReadOnlyCollection<string> served)
    {
        var preference = Preference(device);
        return preference.FirstOrDefault(served.Contains) ?? (preference.Count == 3 ? Training : preference[0]);
    }

    /// <summary>A node name usable in leases (<c>node@machine:pid:nonce</c>) and Hangfire server names.</summary>
    public static string SafeName(string name)
    {
        var safe = new string(name.Trim().Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray());
        return safe.Length == 0 ? "node" : safe;
    }
}

/// <summary>This process's role (<see cref="MedSegOptions.Role"/>), read once at start.</summary>
public sealed record NodeIdentity(NodeRole Role);
