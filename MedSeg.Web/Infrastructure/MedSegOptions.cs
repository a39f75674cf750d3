using MedSeg.Engine.Data;
using Isolation = MedSeg.Engine.Isolation;

namespace MedSeg.Web.Infrastructure;

/// <summary>Configuration section <c>MedSeg</c> (environment variables: <c>MedSeg__DataRoot</c>, ...).</summary>
public sealed class MedSegOptions
{
    public const string Section = "MedSeg";

    /// <summary>Data folder (database, Hangfire storage, datasets, experiments). Empty = <c>./data</c> in the working directory.</summary>
    public string DataRoot { get; set; } = "";

    public string ResolvedDataRoot => Path.GetFullPath(string.IsNullOrWhiteSpace(DataRoot) ? "data" : DataRoot);

    /// <summary>The address users open the app at (e.g. <c>https://medseg.lab.org</c>): webhook payloads link to runs under it.
    /// Empty = the links are app-relative (<c>/experiments/{id}</c>).</summary>
    public string PublicUrl { get; set; } = "";

    /// <summary><c>all</c> (default: UI, API and job servers in one process), <c>web</c> (UI and API; jobs run on workers) or
    /// <c>worker</c> (job servers and a health endpoint only). Also <c>--role</c> on the command line.</summary>
    public string Role { get; set; } = "all";
}

/// <summary>What one process of a deployment does (<see cref="MedSegOptions.Role"/>).</summary>
public enum NodeRole
{
    All,
    Web,
    Worker,
}

public static class NodeRoles
{
    public const string Key = MedSegOptions.Section + ":" + nameof(MedSegOptions.Role);

    /// <summary>The role from configuration; throws naming the setting when it is none of web, worker, all.</summary>
    public static NodeRole Read(IConfiguration configuration)
    {
        var value = configuration[Key];
        if (string.IsNullOrWhiteSpace(value)) return NodeRole.All;
        return value.Trim().ToLowerInvariant() switch
        {
            "all" => NodeRole.All,
            "web" => NodeRole.Web,
            "worker" => NodeRole.Worker,
            _ => throw new InvalidOperationException($"MedSeg:Role (MedSeg__Role, or --role) is '{value}': it must be web, worker or all. " +
                                                     "See the README, \"Several machines\"."),
        };
    }

    /// <summary>Whether a process of this role serves pages and the API.</summary>
    public static bool ServesWeb(this NodeRole role) => role != NodeRole.Worker;

    /// <summary>Whether a process of this role runs job servers (training, prediction).</summary>
    public static bool RunsJobs(this NodeRole role) => role != NodeRole.Web;
}

/// <summary><c>MedSeg:Redis</c>: one Redis for the SignalR backplane, the data-protection keys and (with
/// <c>MedSeg:Jobs:Storage=Redis</c>) Hangfire's job storage. Empty = none: a single process needs no Redis.</summary>
public sealed class RedisOptions
{
    public const string Section = "MedSeg:Redis";
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>redis.lab.org:6379,password=...</c>.</summary>
    public string ConnectionString { get; set; } = "";

    public bool Enabled => !string.IsNullOrWhiteSpace(ConnectionString);
}

/// <summary><c>MedSeg:Notifications</c>: webhook delivery (the outbox worker).</summary>
public sealed class NotificationsOptions
{
    public const string Section = "MedSeg:Notifications";
    /// <summary>How long one webhook request may take.</summary>
    public double TimeoutSeconds { get; set; } = 10;
    /// <summary>The wait after the first failed attempt; each later wait doubles it (5, 10, 20, 40, 80 s by default).</summary>
    public double RetryBaseSeconds { get; set; } = 5;
    /// <summary>Attempts of one delivery before it is marked failed with its last error.</summary>
    public int MaxAttempts { get; set; } = 6;
    /// <summary>How often the worker looks for deliveries that are due.</summary>
    public double PollSeconds { get; set; } = 2;

    /// <summary>The wait before the attempt after <paramref name="attempts"/> failed ones.</summary>
    public TimeSpan RetryDelay(int attempts) => TimeSpan.FromSeconds(RetryBaseSeconds * Math.Pow(2, Math.Max(0, attempts - 1)));
}

/// <summary><c>MedSeg:Admin</c>: when set and no user exists, this admin is created at start-up.</summary>
public sealed class AdminOptions
{
    public const string Section = "MedSeg:Admin";
    public string Email { get; set; } = "";
    public string Password { get; set; } = "";
}

/// <summary><c>MedSeg:Jobs</c>.</summary>
public sealed class JobsOptions
{
    public const string Section = "MedSeg:Jobs";
    /// <summary>Concurrent training jobs on this node (each uses all torch threads).</summary>
    public int WorkerCount { get; set; } = 1;
    /// <summary>Concurrent prediction jobs on this node: a Hangfire server of their own on the <c>predict</c> queue, so that a
    /// prediction never waits behind training.</summary>
    public int PredictWorkers { get; set; } = 1;
    /// <summary>False on web-only nodes: jobs are enqueued here and run by worker nodes. <c>MedSeg:Role=web</c> sets it false,
    /// <c>worker</c> true.</summary>
    public bool RunServer { get; set; } = true;
    /// <summary>Where Hangfire keeps its jobs: <c>Sqlite</c> (a file in the data folder), <c>SqlServer</c> (the database's server)
    /// or <c>Redis</c> (<see cref="RedisOptions.ConnectionString"/>). Empty = the database's provider.</summary>
    public string Storage { get; set; } = "";
    /// <summary>The queues this node's job servers serve, comma-separated: <c>training</c> (any device), <c>training-gpu</c>,
    /// <c>training-cpu</c>, <c>predict</c>. A run goes to the queue of the device it asks for (<see cref="JobQueues"/>).</summary>
    public string Queues { get; set; } = "training,predict";
    /// <summary>This node's name on the Nodes page, in Hangfire's server names and in the leases of the runs it executes; empty =
    /// the machine name. Give each process its own when several share a machine.</summary>
    public string NodeName { get; set; } = "";

    public string ResolvedNodeName => JobQueues.SafeName(string.IsNullOrWhiteSpace(NodeName) ? Environment.MachineName : NodeName);
    /// <summary>A run whose heartbeat is older than this is taken to have died and is resumed.</summary>
    public int StaleAfterSeconds { get; set; } = 60;
    /// <summary>How often a run whose process died (a crashed child, a killed server) is started again from its last
    /// checkpoint before it is Failed with the reason.</summary>
    public int MaxRestarts { get; set; } = 2;
    /// <summary>Resident memory at which a training or prediction child is stopped; 0 = the default,
    /// <see cref="Isolation.MemoryCeiling.Default"/> (¾ of physical memory shared by <see cref="WorkerCount"/> jobs).</summary>
    public long MemoryCeilingBytes { get; set; }
    /// <summary>How long a cancelled child may take to stop by itself before it is killed.</summary>
    public int CancelGraceSeconds { get; set; } = 10;

    /// <summary>Environment variables for the training and prediction children (e.g. <c>LD_LIBRARY_PATH</c> of a CUDA libtorch,
    /// <c>OMP_*</c>); the children inherit this process's environment otherwise.</summary>
    public Dictionary<string, string> ChildEnvironment { get; set; } = [];

    public long EffectiveMemoryCeilingBytes => MemoryCeilingBytes > 0 ? MemoryCeilingBytes : Isolation.MemoryCeiling.Default(WorkerCount);

    /// <summary>The supervisor's limits for this node's children.</summary>
    public Isolation.ChildLimits ChildLimits => new(EffectiveMemoryCeilingBytes, TimeSpan.FromSeconds(Math.Max(1, CancelGraceSeconds)));

    /// <summary>The niceness of the training and prediction children (0 to 19, through <c>nice</c>): above 0 they yield the CPU
    /// to this process, so pages and the API stay fast while every core trains. 0 = the app's own priority.</summary>
    public int ChildNice { get; set; } = 10;

    private const string Nice = "/usr/bin/nice";

    /// <summary>The start of a child (<c>medseg VERB --plan PLAN</c>) with <see cref="ChildEnvironment"/>, at <see cref="ChildNice"/>
    /// (<c>nice</c> execs the child in place: the process id is the child's).</summary>
    public Isolation.ChildStart Child(string verb, string planPath, string what)
    {
        var start = Isolation.ChildCommands.Medseg(verb, planPath, what) with
        {
            Environment = ChildEnvironment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
        };
        var nice = Math.Clamp(ChildNice, 0, 19);
        return nice > 0 && File.Exists(Nice)
            ? start with { FileName = Nice, Arguments = ["-n", nice.ToString(System.Globalization.CultureInfo.InvariantCulture), start.FileName, .. start.Arguments] }
            : start;
    }
}

/// <summary><c>MedSeg:Training</c>.</summary>
public sealed class TrainingOptions
{
    public const string Section = "MedSeg:Training";
    /// <summary><c>auto</c> (CUDA when present), <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>Torch threads per job; 0 = libtorch's default.</summary>
    public int Threads { get; set; }
}

/// <summary>
/// <c>MedSeg:Limits</c>: every hard limit on what clients send, in one place (defaults here; documented in the README and
/// docs/architecture.md, "Limits"). Each is checked before the large allocation or write it guards.
/// </summary>
public sealed class LimitsOptions
{
    public const string Section = "MedSeg:Limits";
    /// <summary>Older name of <see cref="UploadMaxBytes"/>, still read when the new key is not set.</summary>
    public const string LegacyUploadMaxBytesKey = "MedSeg:Upload:MaxBytes";
    private const long MiB = 1024 * 1024;
    private const long GiB = 1024 * MiB;

    /// <summary>Largest request body of an upload endpoint (dataset and prediction uploads).</summary>
    public long UploadMaxBytes { get; set; } = 4 * GiB;
    /// <summary>Largest request body of every other endpoint (JSON APIs, sign-in forms, the token endpoint).</summary>
    public long RequestMaxBytes { get; set; } = 1 * MiB;
    /// <summary>Largest image (width × height) read from an upload, checked from the header before decoding.</summary>
    public long MaxImagePixels { get; set; } = ImageLimits.DefaultMaxPixels;
    /// <summary>Most entries (files and folders) an uploaded zip may list in its central directory.</summary>
    public int MaxZipEntries { get; set; } = 100_000;
    /// <summary>Most bytes an uploaded zip may unpack to (further bounded by the free disk space, below).</summary>
    public long MaxUnpackedBytes { get; set; } = 32 * GiB;
    /// <summary>Largest uncompressed/compressed ratio of one zip entry that unpacks to more than <see cref="CompressionRatioMinBytes"/>.</summary>
    public double MaxCompressionRatio { get; set; } = 100;
    /// <summary>Entries up to this size are never refused for their ratio (an uncompressed mask compresses very well);
    /// 64 MiB is a single-band 8-bit image at the default pixel limit.</summary>
    public long CompressionRatioMinBytes { get; set; } = 64 * MiB;
    /// <summary>Free space an upload must leave at the data root after unpacking.</summary>
    public long MinFreeDiskBytes { get; set; } = 2 * GiB;
    /// <summary>Sign-in attempts (sign-in form posts and <c>POST /api/tokens</c> together) per client IP address per minute.</summary>
    public int SignInPermitsPerMinute { get; set; } = 10;

    /// <summary>An API upload larger than this is validated and stored in the background (202 Accepted with a status URL)
    /// instead of within the request; the browser's uploads always are.</summary>
    public long BackgroundIngestBytes { get; set; } = 256 * MiB;
    /// <summary>How long a validated upload waits for its owner to admit or refuse it before it is refused.</summary>
    public int UploadDecisionMinutes { get; set; } = 60;

    /// <summary>Largest pretrained weights file an admin may upload into the weights library (<c>POST /api/weights</c>).</summary>
    public long WeightsBytes { get; set; } = 512 * MiB;
    /// <summary>How long the child that checks an uploaded weights file (<c>medseg check-weights</c>) may run before it is stopped.</summary>
    public int WeightsCheckSeconds { get; set; } = 600;

    public ImageLimits Images => new(MaxImagePixels);

    /// <summary>The limits from configuration, checked; throws <see cref="InvalidOperationException"/> naming a bad setting.</summary>
    public static LimitsOptions Read(IConfiguration configuration)
    {
        var limits = configuration.GetSection(Section).Get<LimitsOptions>() ?? new LimitsOptions();
        if (configuration[Section + ":" + nameof(UploadMaxBytes)] is null && configuration[LegacyUploadMaxBytesKey] is { Length: > 0 } legacy
            && long.TryParse(legacy, out var bytes))
        {
            limits.UploadMaxBytes = bytes;
        }
        limits.Check();
        return limits;
    }

    public void Check()
    {
        List<string> bad = [];
        if (UploadMaxBytes <= 0) bad.Add(nameof(UploadMaxBytes));
        if (RequestMaxBytes <= 0) bad.Add(nameof(RequestMaxBytes));
        if (MaxImagePixels <= 0) bad.Add(nameof(MaxImagePixels));
        if (MaxZipEntries <= 0) bad.Add(nameof(MaxZipEntries));
        if (MaxUnpackedBytes <= 0) bad.Add(nameof(MaxUnpackedBytes));
        if (!(MaxCompressionRatio >= 1)) bad.Add(nameof(MaxCompressionRatio));
        if (CompressionRatioMinBytes < 0) bad.Add(nameof(CompressionRatioMinBytes));
        if (MinFreeDiskBytes < 0) bad.Add(nameof(MinFreeDiskBytes));
        if (SignInPermitsPerMinute <= 0) bad.Add(nameof(SignInPermitsPerMinute));
        if (BackgroundIngestBytes <= 0) bad.Add(nameof(BackgroundIngestBytes));
        if (UploadDecisionMinutes <= 0) bad.Add(nameof(UploadDecisionMinutes));
        if (WeightsBytes <= 0) bad.Add(nameof(WeightsBytes));
        if (WeightsCheckSeconds <= 0) bad.Add(nameof(WeightsCheckSeconds));
        if (bad.Count > 0)
        {
            throw new InvalidOperationException($"{Section}: {string.Join(", ", bad)} must be positive (MaxCompressionRatio at least 1; " +
                                                "CompressionRatioMinBytes and MinFreeDiskBytes may be 0). See the README's configuration table.");
        }
    }
}
