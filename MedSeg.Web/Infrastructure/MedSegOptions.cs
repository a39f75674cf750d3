using Isolation = MedSeg.Engine.Isolation;

namespace MedSeg.Web.Infrastructure;

/// <summary>Configuration section <c>MedSeg</c> (environment variables: <c>MedSeg__DataRoot</c>, ...).</summary>
public sealed class MedSegOptions
{
    public const string Section = "MedSeg";

    /// <summary>Data folder (database, Hangfire storage, datasets, experiments). Empty = <c>./data</c> in the working directory.</summary>
    public string DataRoot { get; set; } = "";

    public string ResolvedDataRoot => Path.GetFullPath(string.IsNullOrWhiteSpace(DataRoot) ? "data" : DataRoot);
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
    /// <summary>False on web-only nodes: jobs are enqueued here and run by worker nodes.</summary>
    public bool RunServer { get; set; } = true;
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

    /// <summary>The start of a child (<c>medseg VERB --plan PLAN</c>) with <see cref="ChildEnvironment"/>.</summary>
    public Isolation.ChildStart Child(string verb, string planPath, string what) => Isolation.ChildCommands.Medseg(verb, planPath, what) with
    {
        Environment = ChildEnvironment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
    };
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

/// <summary><c>MedSeg:Upload</c>.</summary>
public sealed class UploadOptions
{
    public const string Section = "MedSeg:Upload";
    public long MaxBytes { get; set; } = 4L * 1024 * 1024 * 1024;
}
