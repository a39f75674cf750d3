namespace MedSeg.Web.Features.Quotas;

/// <summary>
/// <c>MedSeg:Quotas</c>: what one user may hold and run at once (defaults here; documented in the README and
/// docs/architecture.md, "Quotas"). Admins are exempt; <c>ApplicationUser.StorageQuotaBytes</c> / <c>JobQuota</c> override the
/// defaults per user (null = these defaults, 0 = unlimited). Read once at start-up.
/// </summary>
public sealed class QuotaOptions
{
    public const string Section = "MedSeg:Quotas";
    private const long GiB = 1024L * 1024 * 1024;

    /// <summary>Bytes a user's datasets and experiment folders may take together; 0 = unlimited.</summary>
    public long StorageBytesPerUser { get; set; } = 100 * GiB;

    /// <summary>Training and prediction jobs of one user queued or running at once; 0 = unlimited.</summary>
    public int JobsPerUser { get; set; } = 4;

    /// <summary>The quotas from configuration, checked; throws <see cref="InvalidOperationException"/> naming a bad setting.</summary>
    public static QuotaOptions Read(IConfiguration configuration)
    {
        var quotas = configuration.GetSection(Section).Get<QuotaOptions>() ?? new QuotaOptions();
        quotas.Check();
        return quotas;
    }

    public void Check()
    {
        List<string> bad = [];
        if (StorageBytesPerUser < 0) bad.Add(nameof(StorageBytesPerUser));
        if (JobsPerUser < 0) bad.Add(nameof(JobsPerUser));
        if (bad.Count > 0)
        {
            throw new InvalidOperationException($"{Section}: {string.Join(", ", bad)} must be 0 (unlimited) or positive. " +
                                                "See the README's configuration table.");
        }
    }
}
