namespace MedSeg.Data.Entities;

/// <summary>An in-app event for one user: a run finished, failed (with its reason) or stopped early; or a webhook test.</summary>
public sealed class Notification
{
    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public Guid? ExperimentId { get; set; }
    /// <summary>"completed", "failed", "stopped" (time budget or early stopping), "cancelled" or "test".</summary>
    public required string Kind { get; set; }
    public required string Title { get; set; }
    public string Message { get; set; } = "";
    /// <summary>The app-relative page it links to (e.g. /experiments/{id}).</summary>
    public string Link { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? ReadAt { get; set; }
}

/// <summary>One webhook delivery of a notification to its user's URL, kept until it is delivered or gives up, so that retries
/// with backoff survive a restart.</summary>
public sealed class WebhookDelivery
{
    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public Guid? NotificationId { get; set; }
    public required string Url { get; set; }
    public required string PayloadJson { get; set; }
    public int Attempts { get; set; }
    /// <summary>"pending", "delivered" or "failed" (gave up after the last attempt).</summary>
    public string Status { get; set; } = "pending";
    public string? LastError { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    public DateTimeOffset NextAttemptAt { get; set; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? DeliveredAt { get; set; }
}
