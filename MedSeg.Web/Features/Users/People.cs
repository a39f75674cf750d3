using MedSeg.Data;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Users;

/// <summary>How pages and the API name people: the display name, else the email; never a user id.</summary>
public static class People
{
    public static async Task<IReadOnlyDictionary<string, string>> NamesAsync(MedSegDbContext db, IEnumerable<string> userIds, CancellationToken ct)
    {
        var ids = userIds.Distinct().ToList();
        if (ids.Count == 0) return new Dictionary<string, string>();
        var rows = await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id))
            .Select(u => new { u.Id, u.DisplayName, u.Email }).ToListAsync(ct);
        return rows.ToDictionary(u => u.Id, u => Name(u.DisplayName, u.Email));
    }

    public static string Name(string? displayName, string? email) =>
        !string.IsNullOrWhiteSpace(displayName) ? displayName : email ?? "(unknown user)";

    public static string Of(IReadOnlyDictionary<string, string> names, string userId) =>
        names.TryGetValue(userId, out var name) ? name : "(deleted user)";
}
