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
        // Redis first when configured: a server that cannot be reached fails the start with the setting named, not later.
        var redis = scope.ServiceProvider.GetRequiredService<RedisConnection>();
        if (redis.Enabled) _ = redis.Multiplexer;
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        // Several nodes may start at once: EF Core's migration lock lets one apply the migrations.
        await db.Database.MigrateAsync();
        await scope.ServiceProvider.GetRequiredService<AdminBootstrapper>().EnsureAsync();
        // The folder clean-up (stale staging, folders without a row, the trash) belongs to the nodes that take uploads: a
        // worker starting while a web node commits an upload must not take its new folder for an orphan.
        if (!app.Services.GetRequiredService<NodeIdentity>().Role.ServesWeb()) return;
        scope.ServiceProvider.GetRequiredService<ArtifactStore>().CleanStaging(TimeSpan.FromHours(1));
        await scope.ServiceProvider.GetRequiredService<StorageReconciler>().ReconcileAsync();
    }
}
