using MedSeg.Data;
using MedSeg.Data.Files;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Deletion;

/// <summary>
/// At start-up, the file side of "no row without files, and no files without a row": folders under <c>datasets/</c> and
/// <c>experiments/</c> whose id has no row (a delete that died between its commit and its rename, an upload that died
/// between its rename and its commit) go to the trash, and the trash is emptied (a delete that died before removing it).
/// Folders changed in the last <see cref="OrphanGrace"/> are left for the next start: on a data root shared by several
/// nodes, another node may be between the rename of an upload and the commit of its row.
/// </summary>
public sealed class StorageReconciler(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, ILogger<StorageReconciler> logger)
{
    public static readonly TimeSpan OrphanGrace = TimeSpan.FromMinutes(10);

    /// <summary>Returns how many orphan folders were moved to the trash and how many trash folders were removed.</summary>
    public async Task<(int Orphans, int Trashed)> ReconcileAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var datasets = (await db.Datasets.Select(d => d.Id).ToListAsync(ct)).ToHashSet();
        var experiments = (await db.Experiments.Select(e => e.Id).ToListAsync(ct)).ToHashSet();
        var orphans = store.TrashOrphans("datasets", datasets, OrphanGrace).Concat(store.TrashOrphans("experiments", experiments, OrphanGrace)).ToList();
        foreach (var name in orphans) logger.LogWarning("Folder {Name} had no row; it was removed", name);
        var trashed = store.EmptyTrash();
        if (trashed > 0) logger.LogInformation("Removed {Count} folder(s) left in the trash", trashed);
        return (orphans.Count, trashed);
    }
}
