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
