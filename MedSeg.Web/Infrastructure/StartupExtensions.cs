using MedSeg.Data;
using MedSeg.Data.Files;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Deletion;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Infrastructure;

public static class StartupExtensions
{
    /// <summary>Applies migrations, creates the admin role (and admin from configuration), clears stale staging folders,
    /// removes folders without a row and empties the trash (<see cref="StorageReconciler"/>).</summary>
    public static async Task InitializeMedSegAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        await db.Database.MigrateAsync();
        await scope.ServiceProvider.GetRequiredService<AdminBootstrapper>().EnsureAsync();
        scope.ServiceProvider.GetRequiredService<ArtifactStore>().CleanStaging(TimeSpan.FromHours(1));
        await scope.ServiceProvider.GetRequiredService<StorageReconciler>().ReconcileAsync();
    }
}
