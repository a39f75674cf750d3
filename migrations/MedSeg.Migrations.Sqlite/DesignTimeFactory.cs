using MedSeg.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace MedSeg.Migrations.Sqlite;

/// <summary>Lets <c>dotnet ef</c> build the context for this provider without starting the web app.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<MedSegDbContext>
{
    public MedSegDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<MedSegDbContext>();
        MedSegDatabase.Configure(builder, new DatabaseOptions { Provider = "Sqlite", ConnectionString = "Data Source=design.db" }, ".");
        return new MedSegDbContext(builder.Options);
    }
}
