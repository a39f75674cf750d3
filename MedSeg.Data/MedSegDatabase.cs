using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace MedSeg.Data;

/// <summary>Configuration section <c>MedSeg:Database</c>.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "MedSeg:Database";
    /// <summary><c>Sqlite</c> (default) or <c>SqlServer</c>.</summary>
    public string Provider { get; set; } = "Sqlite";
    /// <summary>Connection string; for SQLite the default is a file <c>medseg.db</c> in the data folder.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>The one place where the database provider is chosen.</summary>
public static class MedSegDatabase
{
    public const string SqliteMigrations = "MedSeg.Migrations.Sqlite";
    public const string SqlServerMigrations = "MedSeg.Migrations.SqlServer";

    /// <summary>
    /// How long a SQLite command waits for another connection's write lock before it fails with "database is locked":
    /// the web app, Hangfire's workers, the recovery service and the training jobs' heartbeats all write. Used as
    /// SQLite's own <c>busy_timeout</c> and as the command timeout within which Microsoft.Data.Sqlite retries SQLITE_BUSY,
    /// and by Hangfire's SQLite storage (JobsExtensions).
    /// </summary>
    public static readonly TimeSpan SqliteBusyTimeout = TimeSpan.FromSeconds(30);

    public static bool IsSqlServer(DatabaseOptions options) =>
        string.Equals(options.Provider, "SqlServer", StringComparison.OrdinalIgnoreCase);

    public static string SqliteConnectionString(DatabaseOptions options, string dataRoot) =>
        options.ConnectionString is { Length: > 0 } cs ? cs : $"Data Source={Path.Combine(dataRoot, "medseg.db")}";

    public static void Configure(DbContextOptionsBuilder builder, DatabaseOptions options, string dataRoot)
    {
        if (IsSqlServer(options))
        {
            if (string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                throw new InvalidOperationException(
                    "MedSeg:Database:Provider is SqlServer but MedSeg:Database:ConnectionString is empty. " +
                    "Set MedSeg__Database__ConnectionString to a SQL Server connection string.");
            }
            builder.UseSqlServer(options.ConnectionString, sql => sql.MigrationsAssembly(SqlServerMigrations));
        }
        else if (string.Equals(options.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            builder.UseSqlite(SqliteConnectionString(options, dataRoot), sql => sql
                    .MigrationsAssembly(SqliteMigrations)
                    .CommandTimeout((int)SqliteBusyTimeout.TotalSeconds))
                .AddInterceptors(SqlitePragmas.Instance);
        }
        else
        {
            throw new InvalidOperationException(
                $"MedSeg:Database:Provider '{options.Provider}' is not supported. Use 'Sqlite' or 'SqlServer'.");
        }
    }

    /// <summary>
    /// WAL journal mode (readers never wait for the writer and the writer never waits for readers; the mode is stored in
    /// the file, so this is a no-op after the first open) and SQLite's busy timeout on every connection EF opens.
    /// </summary>
    private sealed class SqlitePragmas : DbConnectionInterceptor
    {
        public static readonly SqlitePragmas Instance = new();

        private static readonly string Sql =
            $"PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {(long)SqliteBusyTimeout.TotalMilliseconds};";

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var command = connection.CreateCommand();
            command.CommandText = Sql;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = Sql;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
