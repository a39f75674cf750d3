using System.Security.Cryptography;
using System.Text;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Audit;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Account;

/// <summary>A personal token as its owner sees it (never the secret, which is shown once at creation).</summary>
public sealed record TokenView(Guid Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? ExpiresAt, bool Expired);

/// <summary>A token just created: the secret, shown this once.</summary>
public sealed record CreatedToken(string Token, TokenView Info);

/// <summary>
/// Personal bearer tokens for scripts (stored as SHA-256 only; named, expiring, revocable, last use recorded) and
/// short-lived hub tickets that let the server-side Blazor circuit connect to the SignalR hub as the signed-in user.
/// </summary>
public sealed class ApiTokenService(MedSegDbContext db, IDataProtectionProvider protection, AuditLog audit)
{
    public const int DefaultExpiryDays = 90;
    public const int MaxExpiryDays = 3650;
    private const string TokenPrefix = "msg_";
    private const string TicketPrefix = "hub_";
    private static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(5);
    /// <summary>Last use is written at most this often per token, so that a busy script does not write on every request.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>Why a token request is refused, or null when the name and expiry are fine.</summary>
    public static string? Check(string? name, int? expiresInDays) =>
        name is { Length: > 100 } ? "The token name is at most 100 characters."
        : expiresInDays is < 1 or > MaxExpiryDays ? $"expiresInDays is between 1 and {MaxExpiryDays} (default {DefaultExpiryDays})."
        : null;

    /// <summary>A new token of <paramref name="owner"/> (name and expiry checked with <see cref="Check"/> first); audited.</summary>
    public async Task<CreatedToken> CreateTokenAsync(UserContext owner, string? name = null, int? expiresInDays = null, CancellationToken ct = default)
    {
        var userId = owner.UserId;
        var secret = TokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = DateTimeOffset.UtcNow;
        var row = new ApiToken
        {
            UserId = userId,
            TokenHash = Hash(secret),
            Name = string.IsNullOrWhiteSpace(name) ? $"token {now:yyyy-MM-dd HH:mm}" : name.Trim(),
            CreatedAt = now,
            ExpiresAt = now.AddDays(expiresInDays ?? DefaultExpiryDays),
        };
        db.ApiTokens.Add(row);
        await db.SaveChangesAsync(ct);
        await audit.WriteAsync(owner, new AuditRecord(AuditActions.TokenCreate, "token", row.Id.ToString(), $"{row.Name}, expires {row.ExpiresAt:yyyy-MM-dd}"), ct);
        return new CreatedToken(secret, ToView(row, now));
    }

    public async Task<IReadOnlyList<TokenView>> ListAsync(string userId, CancellationToken ct = default)
    {
        var now = DateTimeOffset.UtcNow;
        var rows = await db.ApiTokens.AsNoTracking().Where(t => t.UserId == userId).OrderByDescending(t => t.CreatedAt).ToListAsync(ct);
        return [.. rows.Select(t => ToView(t, now))];
    }

    /// <summary>Deletes one of the user's own tokens (audited); null when they have none by that id.</summary>
    public async Task<TokenView?> RevokeAsync(UserContext owner, Guid tokenId, CancellationToken ct = default)
    {
        var row = await db.ApiTokens.FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == owner.UserId, ct);
        if (row is null) return null;
        db.ApiTokens.Remove(row);
        await db.SaveChangesAsync(ct);
        await audit.WriteAsync(owner, new AuditRecord(AuditActions.TokenRevoke, "token", tokenId.ToString(), row.Name), ct);
        return ToView(row, DateTimeOffset.UtcNow);
    }

    /// <summary>The user id a bearer value stands for (a live token or hub ticket), or null. Whether that user may still
    /// act (disabled, locked out) is the authentication handler's check.</summary>
    public async Task<string?> ValidateAsync(string value, CancellationToken ct = default)
    {
        if (value.StartsWith(TicketPrefix, StringComparison.Ordinal))
        {
            try
            {
                return Protector().Unprotect(value[TicketPrefix.Length..]);
            }
            catch (CryptographicException)
            {
                return null;
            }
        }
        if (!value.StartsWith(TokenPrefix, StringComparison.Ordinal)) return null;
        var hash = Hash(value);
        var token = await db.ApiTokens.FirstOrDefaultAsync(t => t.TokenHash == hash, ct);
        var now = DateTimeOffset.UtcNow;
        if (token is null || token.ExpiresAt <= now) return null;
        if (token.LastUsedAt is null || now - token.LastUsedAt > LastUsedResolution)
        {
            await db.ApiTokens.Where(t => t.Id == token.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, now), ct);
        }
        return token.UserId;
    }

    public string CreateHubTicket(string userId) => TicketPrefix + Protector().Protect(userId, TicketLifetime);

    private ITimeLimitedDataProtector Protector() => protection.CreateProtector("MedSeg.HubTicket").ToTimeLimitedDataProtector();

    private static TokenView ToView(ApiToken t, DateTimeOffset now) =>
        new(t.Id, t.Name, t.CreatedAt, t.LastUsedAt, t.ExpiresAt, t.ExpiresAt <= now);

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
