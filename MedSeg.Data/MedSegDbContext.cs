using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Data;

/// <summary>
/// The one database context. Migrations live in one assembly per provider (see <see cref="MedSegDatabase"/>).
/// Add a migration for both providers after every model change:
///   dotnet tool restore
///   dotnet ef migrations add NAME --project migrations/MedSeg.Migrations.Sqlite
///   dotnet ef migrations add NAME --project migrations/MedSeg.Migrations.SqlServer
/// SQL Server idempotent script (no server needed):
///   dotnet ef migrations script --idempotent --project migrations/MedSeg.Migrations.SqlServer -o docs/sqlserver.sql
/// </summary>
public sealed class MedSegDbContext(DbContextOptions<MedSegDbContext> options) : IdentityDbContext<ApplicationUser>(options)
{
    public DbSet<ApiToken> ApiTokens => Set<ApiToken>();
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<DatasetCase> DatasetCases => Set<DatasetCase>();
    public DbSet<DatasetVersion> DatasetVersions => Set<DatasetVersion>();
    public DbSet<SavedSplit> SavedSplits => Set<SavedSplit>();
    public DbSet<Experiment> Experiments => Set<Experiment>();
    public DbSet<ExperimentCase> ExperimentCases => Set<ExperimentCase>();
    public DbSet<EpochMetric> EpochMetrics => Set<EpochMetric>();
    public DbSet<Share> Shares => Set<Share>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<ExperimentGroup> ExperimentGroups => Set<ExperimentGroup>();
    public DbSet<ExperimentProfile> ExperimentProfiles => Set<ExperimentProfile>();
    public DbSet<Notification> Notifications => Set<Notification>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
    public DbSet<WeightsFile> WeightsFiles => Set<WeightsFile>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(MedSegDbContext).Assembly);
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        RefuseAuditChanges();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        RefuseAuditChanges();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    /// <summary>The audit log is append-only: rows are added, never changed or removed through the context.</summary>
    private void RefuseAuditChanges()
    {
        if (ChangeTracker.Entries<AuditEntry>().Any(e => e.State is EntityState.Modified or EntityState.Deleted))
        {
            throw new InvalidOperationException("The audit log is append-only: its rows cannot be changed or deleted.");
        }
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite cannot order or compare DateTimeOffset; store UTC ticks on every provider so queries behave the same.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetTicksConverter>();
        configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<DateTimeOffsetTicksConverter>();
    }
}
