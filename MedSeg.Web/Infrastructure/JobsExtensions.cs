using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Dashboard;
using Hangfire.SqlServer;
using Hangfire.Storage.SQLite;
using MedSeg.Data;
using MedSeg.Web.Features;
using SQLite;

namespace MedSeg.Web.Infrastructure;

/// <summary><see cref="JobsOptions.Storage"/>.</summary>
public enum JobStorageKind
{
    Sqlite,
    SqlServer,
    Redis,
}

public static class JobsExtensions
{
    public const string TrainingQueue = "training";
    /// <summary>How long each Hangfire server waits for its workers when the app stops (two servers share the host's 30 s).</summary>
    public static readonly TimeSpan ServerShutdownTimeout = TimeSpan.FromSeconds(10);
    /// <summary>Prediction jobs (and anything on Hangfire's default queue): served by a server of their own, so that they never
    /// wait behind hours of training.</summary>
    public const string PredictQueue = "predict";

    /// <summary>
    /// Hangfire on the same provider as the database. Training runs for hours, longer than any invisibility timeout
    /// we could pick, so a run is protected by the experiment's own lease (RunnerId + heartbeat) instead: a re-fetched
    /// job finds the lease held and exits, and a run whose process died is resumed by <c>ExperimentRecoveryService</c>.
    /// </summary>
    public static WebApplicationBuilder AddMedSegJobs(this WebApplicationBuilder builder)
    {
        var dataRoot = builder.Configuration.Get<MedSegOptions>(MedSegOptions.Section).ResolvedDataRoot;
        var database = builder.Configuration.Get<DatabaseOptions>(DatabaseOptions.Section);
        var jobs = builder.Configuration.Get<JobsOptions>(JobsOptions.Section);
        var redis = builder.Configuration.Get<RedisOptions>(RedisOptions.Section);
        var storageKind = StorageKind(jobs, database, redis);
        var queues = JobQueues.Parse(jobs.Queues);
        var node = jobs.ResolvedNodeName;
        // One storage instance per app, registered in DI (Hangfire's default hands out the process-wide
        // JobStorage.Current, which two apps in one process, e.g. tests, would share). Hangfire logs through a static
        // provider: point it at this app's logger factory before the storage is created.
        builder.Services.AddSingleton<JobStorage>(sp =>
        {
            GlobalConfiguration.Configuration.UseLogProvider(new AspNetCoreLogProvider(sp.GetRequiredService<ILoggerFactory>()));
            return storageKind switch
            {
                JobStorageKind.SqlServer => new SqlServerStorage(database.ConnectionString, new SqlServerStorageOptions
                {
                    PrepareSchemaIfNecessary = true,
                    QueuePollInterval = TimeSpan.FromSeconds(1),
                    SlidingInvisibilityTimeout = TimeSpan.FromMinutes(5),
                }),
                JobStorageKind.Redis => RedisStorage(sp.GetRequiredService<RedisConnection>()),
                _ => SqliteStorage(Path.Combine(dataRoot, "hangfire.db")),
            };
        });
        builder.Services.AddHangfire((sp, cfg) => cfg
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseStorage(sp.GetRequiredService<JobStorage>()));
        if (jobs.RunServer)
        {
            if (queues.Count == 0)
            {
                throw new InvalidOperationException("MedSeg:Jobs:Queues (MedSeg__Jobs__Queues) is empty on a node that runs jobs: name the queues it " +
                                                    $"serves ({string.Join(", ", JobQueues.Known)}), or make it a web node (MedSeg__Role=web).");
            }
            // Training: WorkerCount slots, handed out by the fair queue (TrainingDispatcher), which creates a run's job only
            // when a slot is free. Predictions: their own workers, so a prediction starts while every training slot is busy.
            var training = queues.Where(JobQueues.IsTraining).ToArray();
            if (training.Length > 0)
            {
                builder.Services.AddHangfireServer(o =>
                {
                    o.ServerName = $"{node}-training";
                    o.Queues = training;
                    o.WorkerCount = Math.Max(1, jobs.WorkerCount);
                    o.SchedulePollingInterval = TimeSpan.FromSeconds(1);
                    o.ServerCheckInterval = TimeSpan.FromSeconds(30);
                    // Two servers stop one after the other within the host's 30 s; at Hangfire's default 15 s each a slow stop
                    // ran out the host's time ("hosted services failed to stop"). A run cut short resumes from its checkpoint.
                    o.ShutdownTimeout = ServerShutdownTimeout;
                });
            }
            if (queues.Contains(JobQueues.Predict))
            {
                builder.Services.AddHangfireServer(o =>
                {
                    o.ServerName = $"{node}-predict";
                    o.Queues = [PredictQueue, "default"];
                    o.WorkerCount = Math.Max(1, jobs.PredictWorkers);
                    o.SchedulePollingInterval = TimeSpan.FromSeconds(1);
                    o.ServerCheckInterval = TimeSpan.FromSeconds(30);
                    o.ShutdownTimeout = ServerShutdownTimeout;
                });
            }
        }
        return builder;
    }

    /// <summary>Hangfire's storage from <see cref="JobsOptions.Storage"/> (empty = the database's provider), checked against
    /// what it needs; throws naming the setting.</summary>
    internal static JobStorageKind StorageKind(JobsOptions jobs, DatabaseOptions database, RedisOptions redis)
    {
        var isSqlServer = MedSegDatabase.IsSqlServer(database);
        if (string.IsNullOrWhiteSpace(jobs.Storage)) return isSqlServer ? JobStorageKind.SqlServer : JobStorageKind.Sqlite;
        if (!Enum.TryParse<JobStorageKind>(jobs.Storage.Trim(), ignoreCase: true, out var kind) || !Enum.IsDefined(kind))
        {
            throw new InvalidOperationException($"MedSeg:Jobs:Storage (MedSeg__Jobs__Storage) is '{jobs.Storage}': it must be Sqlite, SqlServer or Redis.");
        }
        if (kind == JobStorageKind.SqlServer && !isSqlServer)
        {
            throw new InvalidOperationException("MedSeg:Jobs:Storage is SqlServer, but the database is not (MedSeg:Database:Provider): Hangfire uses the " +
                                                "database's SQL Server. Set MedSeg__Database__Provider=SqlServer with its connection string, or choose Redis.");
        }
        if (kind == JobStorageKind.Redis && !redis.Enabled)
        {
            throw new InvalidOperationException("MedSeg:Jobs:Storage is Redis, but MedSeg:Redis:ConnectionString (MedSeg__Redis__ConnectionString) is empty: " +
                                                "set it to the Redis server every node shares, e.g. redis.lab.org:6379.");
        }
        return kind;
    }

    /// <summary>Hangfire's Redis storage under a <c>medseg:hangfire:</c> prefix. Training is guarded by the experiment's lease,
    /// so a fetched job is not handed out again while it runs (the same long invisibility as SQLite's).</summary>
    private static Hangfire.Redis.StackExchange.RedisStorage RedisStorage(RedisConnection redis) =>
        new(redis.Multiplexer, new Hangfire.Redis.StackExchange.RedisStorageOptions
        {
            Prefix = "medseg:hangfire:",
            InvisibilityTimeout = TimeSpan.FromDays(3),
            FetchTimeout = TimeSpan.FromSeconds(1),
        });

    /// <summary>
    /// Hangfire's SQLite storage in WAL mode with the database's busy timeout (<see cref="MedSegDatabase.SqliteBusyTimeout"/>):
    /// Hangfire's workers, its schedulers and the web requests that enqueue write to this file at once. The connection is
    /// the one the library's path constructor makes (the same flags), with our busy timeout instead of its 10 s.
    /// </summary>
    internal static SQLiteStorage SqliteStorage(string path) =>
        new(new SQLiteDbConnectionFactory(() => new SQLiteConnection(path,
                SQLiteOpenFlags.ReadWrite | SQLiteOpenFlags.Create | SQLiteOpenFlags.NoMutex, storeDateTimeAsTicks: true)
            {
                BusyTimeout = MedSegDatabase.SqliteBusyTimeout,
            }),
            new SQLiteStorageOptions
            {
                QueuePollInterval = TimeSpan.FromSeconds(1),
                InvisibilityTimeout = TimeSpan.FromDays(3),
                JournalMode = SQLiteStorageOptions.JournalModes.WAL,
            });

    public static WebApplication MapMedSegJobsDashboard(this WebApplication app)
    {
        app.UseHangfireDashboard("/jobs", new DashboardOptions
        {
            Authorization = [new AdminDashboardFilter()],
            DashboardTitle = "MedSeg jobs",
            AppPath = "/",
        });
        return app;
    }

    private sealed class AdminDashboardFilter : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context)
        {
            var user = context.GetHttpContext().User;
            return user.Identity?.IsAuthenticated == true && user.IsInRole(UserContext.AdminRole);
        }
    }
}
