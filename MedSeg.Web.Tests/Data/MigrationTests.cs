using MedSeg.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using SqliteFactory = MedSeg.Migrations.Sqlite.DesignTimeFactory;
using SqlServerFactory = MedSeg.Migrations.SqlServer.DesignTimeFactory;

namespace MedSeg.Web.Tests.Data;

public sealed class MigrationTests
{
    [Fact]
    public void SqliteMigrationsCoverTheModel()
    {
        using var db = new SqliteFactory().CreateDbContext([]);
        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "Add a SQLite migration: dotnet ef migrations add NAME --project migrations/MedSeg.Migrations.Sqlite");
    }

    [Fact]
    public void SqlServerMigrationsCoverTheModel()
    {
        using var db = new SqlServerFactory().CreateDbContext([]);
        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "Add a SQL Server migration: dotnet ef migrations add NAME --project migrations/MedSeg.Migrations.SqlServer");
    }

    [Fact]
    public void SqlServerIdempotentScriptGeneratesWithoutAServer()
    {
        using var db = new SqlServerFactory().CreateDbContext([]);
        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);
        Assert.Contains("CREATE TABLE [Experiments]", script);
        Assert.Contains("CREATE TABLE [AspNetUsers]", script);
        Assert.Contains("IF NOT EXISTS", script);
    }

    [Fact]
    public void CommittedSqlServerScriptIsCurrent()
    {
        using var db = new SqlServerFactory().CreateDbContext([]);
        var script = db.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MedSeg.sln"))) dir = dir.Parent;
        Assert.NotNull(dir);
        var committed = File.ReadAllText(Path.Combine(dir.FullName, "docs", "sqlserver.sql"));
        static string Normalize(string s) => s.Replace("\r\n", "\n").Trim().TrimStart('\uFEFF');
        Assert.True(Normalize(committed) == Normalize(script),
            "docs/sqlserver.sql is stale: dotnet ef migrations script --idempotent --project migrations/MedSeg.Migrations.SqlServer -o docs/sqlserver.sql");
    }

    [Fact]
    public void SqliteMigrationsApplyToAnEmptyFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"medseg-{Guid.NewGuid():N}.db");
        try
        {
            var options = new DbContextOptionsBuilder<MedSegDbContext>();
            MedSegDatabase.Configure(options, new DatabaseOptions { Provider = "Sqlite", ConnectionString = $"Data Source={file};Pooling=False" }, ".");
            using var db = new MedSegDbContext(options.Options);
            db.Database.Migrate();
            Assert.Empty(db.Database.GetPendingMigrations());
            Assert.Equal(0, db.Experiments.Count());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void UnknownProviderIsRefusedWithItsName()
    {
        var options = new DbContextOptionsBuilder<MedSegDbContext>();
        var e = Assert.Throws<InvalidOperationException>(() =>
            MedSegDatabase.Configure(options, new DatabaseOptions { Provider = "Oracle" }, "."));
        Assert.Contains("Oracle", e.Message);
        Assert.Contains("SqlServer", e.Message);
    }
}
