using System.Security.Cryptography;
using MedSeg.Data;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Notifications;

/// <summary>A user's webhook as the account page shows it: the URL, and whether a signing secret is set (never the secret).</summary>
public sealed record WebhookSettings(string? Url, bool HasSecret);

/// <summary>The outcome of saving a webhook URL: saved (with the secret when one was generated now, shown once) or refused.</summary>
public sealed record WebhookSaveResult(string? Error, string? NewSecret = null)
{
    public const string Field = "webhookUrl";
}

/// <summary>A user's webhook: URL (http/https), the signing secret (generated here, shown once), and a test delivery.</summary>
public sealed class WebhookService(IDbContextFactory<MedSegDbContext> contexts, NotificationService notifications)
{
    public const int MaxUrlLength = 2000;

    /// <summary>Null when the URL may be used (empty clears the webhook); else a message naming the field.</summary>
    public static string? Check(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return null;
        url = url.Trim();
        if (url.Length > MaxUrlLength) return $"Webhook URL: at most {MaxUrlLength} characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            return "Webhook URL: enter an absolute http:// or https:// address, e.g. https://hooks.example.org/medseg.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "Webhook URL: put no user name or password in the address; requests are signed instead.";
        return null;
    }

    public async Task<WebhookSettings> GetAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var u = await db.Users.AsNoTracking().Where(x => x.Id == userId).Select(x => new { x.WebhookUrl, x.WebhookSecret }).FirstAsync(ct);
        return new WebhookSettings(u.WebhookUrl, !string.IsNullOrEmpty(u.WebhookSecret));
    }

    /// <summary>Saves (or with an empty URL, clears) the user's webhook; a first URL gets a secret, returned this once.</summary>
    public async Task<WebhookSaveResult> SaveUrlAsync(string userId, string? url, CancellationToken ct = default)
    {
        if (Check(url) is { } error) return new WebhookSaveResult(error);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var user = await db.Users.FirstAsync(x => x.Id == userId, ct);
        user.WebhookUrl = string.IsNullOrWhiteSpace(url) ? null : url.Trim();
        string? secret = null;
        if (user.WebhookUrl is not null && string.IsNullOrEmpty(user.WebhookSecret)) user.WebhookSecret = secret = NewSecret();
        await db.SaveChangesAsync(ct);
        return new WebhookSaveResult(null, secret);
    }

    /// <summary>A new signing secret (the old one stops verifying at once); returned this once.</summary>
    public async Task<string> RegenerateSecretAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var secret = NewSecret();
        await db.Users.Where(x => x.Id == userId).ExecuteUpdateAsync(u => u.SetProperty(x => x.WebhookSecret, secret), ct);
        return secret;
    }

    /// <summary>A "test" notification, delivered to the webhook like a run's; null when the user has no webhook URL.</summary>
    public async Task<NotificationView?> SendTestAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var url = await db.Users.Where(x => x.Id == userId).Select(x => x.WebhookUrl).FirstOrDefaultAsync(ct);
        if (string.IsNullOrWhiteSpace(url)) return null;
        return await notifications.NotifyAsync(db, userId, NotificationKinds.Test, "Webhook test",
            $"A test delivery to {url}.", "/account", null, null);
    }

    private static string NewSecret() => "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
