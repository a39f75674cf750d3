using System.Security.Cryptography;
using System.Text;
using MedSeg.Data;
using MedSeg.Data.Entities;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Account;

/// <summary>
/// Personal bearer tokens for scripts (stored as SHA-256 only) and short-lived hub tickets that let the server-side
/// Blazor circuit connect to the SignalR hub as the signed-in user.
/// </summary>
public sealed class ApiTokenService(MedSegDbContext db, IDataProtectionProvider protection)
{
    private const string TokenPrefix = "msg_";
    private const string TicketPrefix = "hub_";
    private static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(5);

    public async Task<string> CreateTokenAsync(string userId, CancellationToken ct = default)
    {
        var token = TokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        db.ApiTokens.Add(new ApiToken { UserId = userId, TokenHash = Hash(token) });
        await db.SaveChangesAsync(ct);
        return token;
    }

    /// <summary>The user id a bearer value stands for, or null.</summary>
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
        return token?.UserId;
    }

    public string CreateHubTicket(string userId) => TicketPrefix + Protector().Protect(userId, TicketLifetime);

    private ITimeLimitedDataProtector Protector() => protection.CreateProtector("MedSeg.HubTicket").ToTimeLimitedDataProtector();

    private static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
