using System.Diagnostics;
using Hangfire;
using Hangfire.Logging;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Infrastructure;
using MedSeg.Web.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Tests.Data;

/// <summary>The SQLite database and Hangfire's SQLite storage run in WAL mode with a busy timeout (docs/architecture.md).</summary>
public sealed class SqliteConcurrencyTests
{
    private static MedSegDbContext Context(string dataRoot)
    {
        var options = new DbContextOptionsBuilder<MedSegDbContext>();
        MedSegDatabase.Configure(options, new DatabaseOptions { Provider = "Sqlite" }, dataRoot);
        return new MedSegDbContext(options.Options);
    }

    private static MedSegDbContext Migrated(string dataRoot)
    {
        var db = Context(dataRoot);
        db.Database.Migrate();
        return db;
    }

    private static object? Pragma(MedSegDbContext db, string name)
    {
        var connection = db.Database.GetDbConnection();
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name}";
        return command.ExecuteScalar();
    }

    private static ApplicationUser User(string name) => new() { UserName = name, NormalizedUserName = name.ToUpperInvariant() };

    [Fact]
    public void SqliteDatabaseIsInWalModeWithABusyTimeout()
    {
        using var dir = new TempDirectory();
        using var db = Migrated(dir.Path);
        db.Database.OpenConnection();
        Assert.Equal("wal", Pragma(db, "journal_mode"));
        Assert.Equal((long)MedSegDatabase.SqliteBusyTimeout.TotalMilliseconds, Pragma(db, "busy_timeout"));
        Assert.Equal((int)MedSegDatabase.SqliteBusyTimeout.TotalSeconds, db.Database.GetCommandTimeout());
        db.Database.CloseConnection();
        SqliteConnection.ClearAllPools();
        // The mode is stored in the file: a plain connection finds it too.
        using var plain = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "medseg.db")};Pooling=False");
        plain.Open();
        using var command = plain.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    [Fact]
    public async Task AWriterDoesNotWaitForAnOpenReadTransaction()
    {
        // With a rollback journal the commit needs every reader gone; in WAL mode it goes ahead while a page that was
        // opened earlier still reads its snapshot.
        using var dir = new TempDirectory();
        using (Migrated(dir.Path)) { }
        // A deferred transaction that has read is a read transaction (EF's own transactions begin IMMEDIATE, i.e. as writers).
        using var reader = new SqliteConnection($"Data Source={Path.Combine(dir.Path, "medseg.db")};Pooling=False");
        reader.Open();
        using var read = reader.BeginTransaction(deferred: true);
        using var count = reader.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM AspNetUsers";
        count.Transaction = read;
        Assert.Equal(0L, count.ExecuteScalar());
        var writer = Task.Run(async () =>
        {
            await using var db = Context(dir.Path);
            db.Users.Add(User("writer"));
            await db.SaveChangesAsync();
        });
        var done = await Task.WhenAny(writer, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.Same(writer, done);
        await writer;
        Assert.Equal(0L, count.ExecuteScalar()); // still the snapshot of the open read transaction
        read.Commit();
        count.Transaction = null;
        Assert.Equal(1L, count.ExecuteScalar());
    }

    [Fact]
    public async Task ConcurrentWritersWaitForTheLockInsteadOfFailing()
    {
        using var dir = new TempDirectory();
        using (Migrated(dir.Path)) { }
        // One writer holds the write lock for a second while two others save 25 times each.
        var holding = new TaskCompletionSource();
        var holder = Task.Run(async () =>
        {
            await using var db = Context(dir.Path);
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Users.Add(User("holder"));
            await db.SaveChangesAsync();
            holding.SetResult();
            await Task.Delay(TimeSpan.FromSeconds(1));
            await transaction.CommitAsync();
        });
        await holding.Task;
        var clock = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await using var db = Context(dir.Path);
                db.Users.Add(User($"writer-{w}-{i}"));
                await db.SaveChangesAsync();
            }
        })).ToArray();
        await Task.WhenAll([holder, .. writers]); // "database is locked" would surface here
        Assert.True(clock.Elapsed < MedSegDatabase.SqliteBusyTimeout);
        await using var check = Context(dir.Path);
        Assert.Equal(51, await check.Users.CountAsync());
    }

    [Fact]
    public async Task HangfireStorageIsInWalModeAndTakesConcurrentWriters()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "hangfire.db");
        // Hangfire logs through a process-wide provider, which the apps of earlier tests pointed at their (disposed) loggers.
        GlobalConfiguration.Configuration.UseLogProvider(new SilentLogProvider());
        using (var storage = JobsExtensions.SqliteStorage(file))
        {
            var client = new BackgroundJobClient(storage);
            await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                for (var i = 0; i < 25; i++) client.Enqueue(() => NoJob.Run());
            })));
            Assert.Equal(50, storage.GetMonitoringApi().EnqueuedCount("default"));
        }
        using var plain = new SqliteConnection($"Data Source={file};Pooling=False");
        plain.Open();
        using var command = plain.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", command.ExecuteScalar());
    }

    private sealed class SilentLogProvider : ILogProvider
    {
        public ILog GetLogger(string name) => new SilentLog();
    }

    private sealed class SilentLog : ILog
    {
        public bool Log(LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null) => true;
    }
}

public static class NoJob
{
    public static void Run() { }
}
