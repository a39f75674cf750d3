using MedSeg.Data;
using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Sharing;

/// <summary>
/// The one place that says which datasets and experiments a user may read: admins all; everyone else what they own and
/// what is shared with them by name or with everyone. Changing an item is <see cref="UserContext.CanManage"/>.
/// </summary>
public static class Access
{
    public static IQueryable<Dataset> Datasets(MedSegDbContext db, UserContext user) =>
        user.IsAdmin
            ? db.Datasets
            : db.Datasets.Where(d => d.OwnerId == user.UserId || db.Shares.Any(s =>
                s.Kind == ShareKind.Dataset && s.ResourceId == d.Id && (s.UserId == null || s.UserId == user.UserId)));

    /// <summary>A prediction run is seen by whoever started it and by whoever manages its experiment (runs from before
    /// starters were recorded belong to the experiment's owner).</summary>
    public static bool CanSeeRun(string experimentOwnerId, string? startedBy, UserContext user) =>
        user.CanManage(experimentOwnerId) || (startedBy ?? experimentOwnerId) == user.UserId;

    /// <summary>A prediction run is deleted by the experiment's manager or by whoever started it (not a Viewer).</summary>
    public static bool CanManageRun(string experimentOwnerId, string? startedBy, UserContext user) =>
        user.CanManage(experimentOwnerId) || user.CanManage(startedBy ?? experimentOwnerId);

    public static IQueryable<Experiment> Experiments(MedSegDbContext db, UserContext user) =>
        user.IsAdmin
            ? db.Experiments
            : db.Experiments.Where(e => e.OwnerId == user.UserId || db.Shares.Any(s =>
                s.Kind == ShareKind.Experiment && s.ResourceId == e.Id && (s.UserId == null || s.UserId == user.UserId)));
}

/// <summary>What an owner-only action (cancel, rename, share, delete) did: no such visible item, visible but read-only for
/// this user (403), or done.</summary>
public enum ManageResult
{
    NotFound,
    Forbidden,
    Done,
}
