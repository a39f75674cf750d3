using Microsoft.AspNetCore.Identity;

namespace MedSeg.Data.Entities;

public sealed class ApplicationUser : IdentityUser
{
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    /// <summary>How pages show the person; empty = the email.</summary>
    public string DisplayName { get; set; } = "";
    /// <summary>A disabled user cannot sign in; their cookie sessions, open pages and tokens stop working at once.</summary>
    public bool Disabled { get; set; }
    /// <summary>Per-user storage quota in bytes, overriding <c>MedSeg:Quotas:StorageBytesPerUser</c>; null = the default, 0 = unlimited.</summary>
    public long? StorageQuotaBytes { get; set; }
    /// <summary>Per-user quota of queued plus running jobs, overriding <c>MedSeg:Quotas:JobsPerUser</c>; null = the default, 0 = unlimited.</summary>
    public int? JobQuota { get; set; }
    /// <summary>Where run events are POSTed as JSON (null = no webhook).</summary>
    public string? WebhookUrl { get; set; }
    /// <summary>Signs each webhook body (HMAC-SHA256 in the X-MedSeg-Signature header).</summary>
    public string? WebhookSecret { get; set; }
}
