using Microsoft.EntityFrameworkCore;

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
            builder.UseSqlite(SqliteConnectionString(options, dataRoot), sql => sql.MigrationsAssembly(SqliteMigrations));
        }
        else
        {
            throw new InvalidOperationException(
                $"MedSeg:Database:Provider '{options.Provider}' is not supported. Use 'Sqlite' or 'SqlServer'.");
        }
    }
}
