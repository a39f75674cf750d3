using MedSeg.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace MedSeg.Migrations.SqlServer;

/// <summary>Lets <c>dotnet ef</c> build the context for this provider; no server is contacted to add or script migrations.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<MedSegDbContext>
{
    public MedSegDbContext CreateDbContext(string[] args)
    {
        var builder = new DbContextOptionsBuilder<MedSegDbContext>();
        MedSegDatabase.Configure(builder, new DatabaseOptions
        {
            Provider = "SqlServer",
            ConnectionString = "Server=localhost;Database=MedSeg;Trusted_Connection=True;TrustServerCertificate=True",
        }, ".");
        return new MedSegDbContext(builder.Options);
    }
}
