using MedSeg.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Audit;

/// <summary>An audit row as the page and <c>GET /api/audit</c> show it.</summary>
public sealed record AuditView(long Id, DateTimeOffset At, string? ActorId, string Actor, string Action, string? TargetKind, string? TargetId,
    string? Detail, string? IpAddress, bool Succeeded);

/// <summary>Filters of the audit log; every one optional. <c>actor</c> matches the email or name written in the row.</summary>
public sealed record AuditQuery(string? Actor = null, string? Action = null, string? TargetId = null, DateTimeOffset? From = null,
    DateTimeOffset? To = null, int Skip = 0, int Take = 100);

public static class AuditApi
{
    public static IServiceCollection AddAuditFeature(this IServiceCollection services)
    {
        services.AddSingleton<AuditLog>();
        services.AddScoped<AuditReader>();
        return services;
    }

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", List).RequireAuthorization(Account.AccountServiceExtensions.AdminPolicy).WithTags("Audit");
        return app;
    }

    /// <summary>Newest first. Query: <c>actor</c>, <c>action</c> (prefix, e.g. <c>dataset.</c>), <c>targetId</c>, <c>from</c>, <c>to</c>, <c>skip</c>, <c>take</c> (≤ 1000).</summary>
    public static async Task<Ok<IReadOnlyList<AuditView>>> List(AuditReader reader, CancellationToken ct, string? actor = null, string? action = null,
        string? targetId = null, DateTimeOffset? from = null, DateTimeOffset? to = null, int skip = 0, int take = 100) =>
        TypedResults.Ok(await reader.ListAsync(new AuditQuery(actor, action, targetId, from, to, skip, take), ct));
}

/// <summary>Reads the audit log for admins (the page and the API).</summary>
public sealed class AuditReader(IDbContextFactory<MedSegDbContext> contexts)
{
    public async Task<IReadOnlyList<AuditView>> ListAsync(AuditQuery query, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = db.AuditLog.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query.Actor)) rows = rows.Where(a => a.ActorName.Contains(query.Actor.Trim()));
        if (!string.IsNullOrWhiteSpace(query.Action)) rows = rows.Where(a => a.Action.StartsWith(query.Action.Trim()));
        if (!string.IsNullOrWhiteSpace(query.TargetId)) rows = rows.Where(a => a.TargetId == query.TargetId.Trim());
        if (query.From is { } from) rows = rows.Where(a => a.At >= from);
        if (query.To is { } to) rows = rows.Where(a => a.At <= to);
        return await rows.OrderByDescending(a => a.Id).Skip(Math.Max(0, query.Skip)).Take(Math.Clamp(query.Take, 1, 1000))
            .Select(a => new AuditView(a.Id, a.At, a.ActorId, a.ActorName, a.Action, a.TargetKind, a.TargetId, a.Detail, a.IpAddress, a.Succeeded))
            .ToListAsync(ct);
    }
}
