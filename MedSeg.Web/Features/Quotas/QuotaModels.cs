namespace MedSeg.Web.Features.Quotas;

/// <summary>Storage a user holds and may hold; <paramref name="LimitBytes"/> null = unlimited (an admin, or a quota of 0).</summary>
public sealed record StorageUsage(long UsedBytes, long? LimitBytes)
{
    public long? LeftBytes => LimitBytes is { } limit ? Math.Max(0, limit - UsedBytes) : null;
}

/// <summary>A user's training and prediction jobs queued or running; <paramref name="Limit"/> null = unlimited.</summary>
public sealed record JobUsage(int Active, int? Limit)
{
    public bool Full => Limit is { } limit && Active >= limit;
}

/// <summary>What <c>GET /api/quotas/me</c> answers.</summary>
public sealed record QuotaStatus(StorageUsage Storage, JobUsage Jobs);

/// <summary>Why an upload does not fit the storage quota: what it needs, what is used, the limit, and what to do.</summary>
public sealed record StorageRefusal(long NeededBytes, long UsedBytes, long LimitBytes, string Message);

/// <summary>Why a launch or a prediction start is refused: the jobs already queued or running and the limit.</summary>
public sealed record JobRefusal(int Active, int Limit, string Message);

/// <summary>Which quota a page shows.</summary>
public enum QuotaKind
{
    Storage,
    Jobs,
}
