using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Users;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Sharing;

/// <summary><c>{userId}</c> to share with one user, or <c>{everyone: true}</c> with every user of the server.</summary>
public sealed record ShareRequest(string? UserId = null, bool Everyone = false);

/// <param name="With">The person's name, or "Everyone".</param>
public sealed record ShareView(Guid Id, ShareKind Kind, Guid ResourceId, string? UserId, string With, string SharedBy, DateTimeOffset CreatedAt);

public abstract record ShareResult
{
    public sealed record Done(ShareView Share) : ShareResult;

    public sealed record Invalid(string Field, string Message) : ShareResult;

    public sealed record NotFound : ShareResult;

    public sealed record Forbidden : ShareResult;
}

/// <summary>Read-only shares of datasets and experiments: only the owner or an admin shares, lists or removes them.</summary>
public sealed class ShareService(IDbContextFactory<MedSegDbContext> contexts, AuditLog audit)
{
    public async Task<(ManageResult Access, IReadOnlyList<ShareView> Shares)> ListAsync(ShareKind kind, Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var access = await AccessAsync(db, kind, id, user, ct);
        if (access != ManageResult.Done) return (access, []);
        var rows = await db.Shares.AsNoTracking().Where(s => s.Kind == kind && s.ResourceId == id).OrderBy(s => s.CreatedAt).ToListAsync(ct);
        var names = await People.NamesAsync(db, rows.SelectMany(s => s.UserId is null ? [s.SharedById] : new[] { s.UserId, s.SharedById }), ct);
        return (access, [.. rows.Select(s => View(s, names))]);
    }

    public async Task<ShareResult> ShareAsync(ShareKind kind, Guid id, ShareRequest request, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var (access, ownerId, name) = await ItemAsync(db, kind, id, user, ct);
        if (access == ManageResult.NotFound) return new ShareResult.NotFound();
        if (access == ManageResult.Forbidden) return new ShareResult.Forbidden();
        string? target = null;
        if (!request.Everyone)
        {
            if (string.IsNullOrWhiteSpace(request.UserId)) return new ShareResult.Invalid("userId", "Send {\"userId\": \"…\"} or {\"everyone\": true}.");
            var person = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == request.UserId, ct);
            if (person is null || person.Disabled) return new ShareResult.Invalid("userId", "No active user has this id; pick one from GET /api/users.");
            if (person.Id == ownerId) return new ShareResult.Invalid("userId", "The owner sees it already.");
            target = person.Id;
        }
        else if (request.UserId is not null)
        {
            return new ShareResult.Invalid("everyone", "Send either a userId or everyone: true, not both.");
        }
        var existing = await db.Shares.FirstOrDefaultAsync(s => s.Kind == kind && s.ResourceId == id && s.UserId == target, ct);
        if (existing is null)
        {
            existing = new Share { Id = Guid.NewGuid(), Kind = kind, ResourceId = id, UserId = target, SharedById = user.UserId };
            db.Shares.Add(existing);
            await db.SaveChangesAsync(ct);
            var with = target is null ? "everyone" : People.Of(await People.NamesAsync(db, [target], ct), target);
            await audit.WriteAsync(user, new AuditRecord(AuditActions.ShareCreate, Target(kind), id.ToString(), $"{name} shared with {with}"), ct);
        }
        var names = await People.NamesAsync(db, existing.UserId is null ? [existing.SharedById] : [existing.UserId, existing.SharedById], ct);
        return new ShareResult.Done(View(existing, names));
    }

    public async Task<ManageResult> UnshareAsync(ShareKind kind, Guid id, Guid shareId, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var (access, _, name) = await ItemAsync(db, kind, id, user, ct);
        if (access != ManageResult.Done) return access;
        var share = await db.Shares.FirstOrDefaultAsync(s => s.Id == shareId && s.Kind == kind && s.ResourceId == id, ct);
        if (share is null) return ManageResult.NotFound;
        db.Shares.Remove(share);
        await db.SaveChangesAsync(ct);
        var with = share.UserId is null ? "everyone" : People.Of(await People.NamesAsync(db, [share.UserId], ct), share.UserId);
        await audit.WriteAsync(user, new AuditRecord(AuditActions.ShareDelete, Target(kind), id.ToString(), $"{name} no longer shared with {with}"), ct);
        return ManageResult.Done;
    }

    /// <summary>Removes every share of an item (it is being deleted); the caller's transaction commits it.</summary>
    public static Task<int> RemoveAllAsync(MedSegDbContext db, ShareKind kind, IReadOnlyCollection<Guid> ids, CancellationToken ct) =>
        db.Shares.Where(s => s.Kind == kind && ids.Contains(s.ResourceId)).ExecuteDeleteAsync(ct);

    private static async Task<ManageResult> AccessAsync(MedSegDbContext db, ShareKind kind, Guid id, UserContext user, CancellationToken ct) =>
        (await ItemAsync(db, kind, id, user, ct)).Access;

    private static async Task<(ManageResult Access, string OwnerId, string Name)> ItemAsync(MedSegDbContext db, ShareKind kind, Guid id, UserContext user,
        CancellationToken ct)
    {
        var item = kind == ShareKind.Dataset
            ? await Access.Datasets(db, user).Where(d => d.Id == id).Select(d => new { d.OwnerId, d.Name }).FirstOrDefaultAsync(ct)
            : await Access.Experiments(db, user).Where(e => e.Id == id).Select(e => new { e.OwnerId, e.Name }).FirstOrDefaultAsync(ct);
        if (item is null) return (ManageResult.NotFound, "", "");
        return (user.CanManage(item.OwnerId) ? ManageResult.Done : ManageResult.Forbidden, item.OwnerId, item.Name);
    }

    private static string Target(ShareKind kind) => kind == ShareKind.Dataset ? "dataset" : "experiment";

    private static ShareView View(Share s, IReadOnlyDictionary<string, string> names) =>
        new(s.Id, s.Kind, s.ResourceId, s.UserId, s.UserId is null ? "Everyone" : People.Of(names, s.UserId), People.Of(names, s.SharedById), s.CreatedAt);
}
