using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Notifications;

/// <summary>What a run's end is called in the bell, the API and the webhook's <c>event</c> (<c>experiment.{kind}</c>).</summary>
public static class NotificationKinds
{
    public const string Completed = "completed";
    public const string Failed = "failed";
    /// <summary>Completed before its last epoch: the time budget or early stopping ended training.</summary>
    public const string Stopped = "stopped";
    public const string Cancelled = "cancelled";
    public const string Test = "test";

    /// <summary>The kind of a run that ended with this status, or null for one that has not ended (Interrupted resumes).</summary>
    public static string? Of(ExperimentStatus status, bool stoppedEarly) => status switch
    {
        ExperimentStatus.Completed => stoppedEarly ? Stopped : Completed,
        ExperimentStatus.Failed => Failed,
        ExperimentStatus.Cancelled => Cancelled,
        _ => null,
    };

    public static string Event(string kind) => kind == Test ? "test" : "experiment." + kind;
}

/// <summary>One notification as the bell and <c>GET /api/notifications</c> show it.</summary>
public sealed record NotificationView(Guid Id, string Kind, string Title, string Message, string Link, Guid? ExperimentId,
    DateTimeOffset CreatedAt, DateTimeOffset? ReadAt)
{
    public bool Read => ReadAt is not null;

    public static NotificationView From(Notification n) => new(n.Id, n.Kind, n.Title, n.Message, n.Link, n.ExperimentId, n.CreatedAt, n.ReadAt);
}

/// <summary>Pushed to the user's group of <see cref="NotificationHub"/>.</summary>
public interface INotificationClient
{
    Task Notified(NotificationView notification);
    /// <summary>The user read some or all of them (in another tab): the count to show now.</summary>
    Task UnreadChanged(int unread);
}
