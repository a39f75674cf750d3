using System.Globalization;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Notifications;

/// <summary>
/// A user's notifications: one when a run of theirs ends (completed, stopped early, failed with its reason, cancelled),
/// stored, pushed to their group of <see cref="NotificationHub"/>, and queued as a <see cref="WebhookDelivery"/> for their
/// webhook when they have one (<see cref="WebhookWorker"/> sends it). Notifying never fails the caller: a run's end is
/// written before, and an error here is logged.
/// </summary>
public sealed class NotificationService(IDbContextFactory<MedSegDbContext> contexts, IHubContext<NotificationHub, INotificationClient> hub,
    IOptions<MedSegOptions> options, ILogger<NotificationService> logger)
{
    public const int ListLimit = 50;

    /// <summary>The run ended with <paramref name="status"/>: notifies its owner. <paramref name="stoppedEarly"/>: a Completed run
    /// whose training the time budget or early stopping ended. Interrupted and unfinished statuses notify nobody.</summary>
    public async Task RunEndedAsync(Guid experimentId, ExperimentStatus status, string? reason = null, bool stoppedEarly = false)
    {
        if (NotificationKinds.Of(status, stoppedEarly) is not { } kind) return;
        try
        {
            await using var db = await contexts.CreateDbContextAsync();
            var e = await db.Experiments.AsNoTracking().Include(x => x.Dataset).FirstOrDefaultAsync(x => x.Id == experimentId);
            if (e is null) return;
            var last = await db.EpochMetrics.AsNoTracking().Where(m => m.ExperimentId == experimentId)
                .OrderByDescending(m => m.Epoch).FirstOrDefaultAsync();
            var link = $"/experiments/{e.Id}";
            var title = kind switch
            {
                NotificationKinds.Completed => $"{e.Name} completed",
                NotificationKinds.Stopped => $"{e.Name} stopped early",
                NotificationKinds.Failed => $"{e.Name} failed",
                _ => $"{e.Name} was cancelled",
            };
            var best = e.BestDice is { } dice
                ? string.Create(CultureInfo.InvariantCulture, $"Best Dice {dice:F4} at epoch {e.BestEpoch} of {e.Epochs}.")
                : null;
            var message = kind switch
            {
                NotificationKinds.Completed => best ?? "Training and evaluation finished.",
                NotificationKinds.Stopped => string.Join(" ", new[] { reason, best }.Where(s => !string.IsNullOrEmpty(s))),
                NotificationKinds.Cancelled => reason ?? "Cancelled.",
                _ => reason ?? "The run failed.",
            };
            var experiment = new WebhookExperiment(e.Id, e.Name, e.Model, e.Dataset?.Name ?? "", status.ToString(), e.BestDice, e.BestEpoch,
                last?.Epoch ?? 0, e.Epochs,
                last is null ? null : new WebhookFinalMetrics(last.Epoch, last.TrainLoss, last.ValidationLoss, last.ValidationDice, last.ValidationIoU),
                reason);
            await NotifyAsync(db, e.OwnerId, kind, title, message, link, e.Id, experiment);
        }
        catch (Exception error)
        {
            logger.LogWarning(error, "Could not notify the end of experiment {Id} ({Status})", experimentId, status);
        }
    }

    /// <summary>Stores the notification, queues its webhook delivery (when the user has a URL) and pushes it to the bell.</summary>
    internal async Task<NotificationView> NotifyAsync(MedSegDbContext db, string userId, string kind, string title, string message, string link,
        Guid? experimentId, WebhookExperiment? experiment)
    {
        var notification = new Notification
        {
            Id = Guid.NewGuid(), UserId = userId, ExperimentId = experimentId, Kind = kind,
            Title = Clip(title, 300), Message = Clip(message, 4000), Link = link,
        };
        db.Notifications.Add(notification);
        var url = await db.Users.Where(u => u.Id == userId).Select(u => u.WebhookUrl).FirstOrDefaultAsync();
        if (!string.IsNullOrWhiteSpace(url))
        {
            db.WebhookDeliveries.Add(new WebhookDelivery
            {
                Id = Guid.NewGuid(), UserId = userId, NotificationId = notification.Id, Url = url,
                PayloadJson = WebhookPayload.Create(NotificationKinds.Event(kind), experiment, WebhookPayload.Absolute(link, options.Value.PublicUrl)),
            });
        }
        await db.SaveChangesAsync();
        var view = NotificationView.From(notification);
        await hub.Clients.Group(NotificationHub.GroupName(userId)).Notified(view);
        return view;
    }

    /// <summary>The user's latest notifications, newest first (only the unread ones when asked).</summary>
    public async Task<IReadOnlyList<NotificationView>> ListAsync(string userId, bool unreadOnly = false, int take = ListLimit, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Notifications.AsNoTracking().Where(n => n.UserId == userId && (!unreadOnly || n.ReadAt == null))
            .OrderByDescending(n => n.CreatedAt).Take(Math.Clamp(take, 1, 500)).ToListAsync(ct);
        return [.. rows.Select(NotificationView.From)];
    }

    public async Task<int> UnreadCountAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Notifications.CountAsync(n => n.UserId == userId && n.ReadAt == null, ct);
    }

    /// <summary>Marks one of the user's notifications read; false when they have none by that id.</summary>
    public async Task<bool> MarkReadAsync(string userId, Guid id, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = DateTimeOffset.UtcNow;
        var mine = await db.Notifications.AnyAsync(n => n.Id == id && n.UserId == userId, ct);
        if (!mine) return false;
        await db.Notifications.Where(n => n.Id == id && n.UserId == userId && n.ReadAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(n => n.ReadAt, now), ct);
        await PushUnreadAsync(db, userId, ct);
        return true;
    }

    /// <summary>Marks all of the user's notifications read; returns how many were unread.</summary>
    public async Task<int> MarkAllReadAsync(string userId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = DateTimeOffset.UtcNow;
        var count = await db.Notifications.Where(n => n.UserId == userId && n.ReadAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(n => n.ReadAt, now), ct);
        await PushUnreadAsync(db, userId, ct);
        return count;
    }

    private async Task PushUnreadAsync(MedSegDbContext db, string userId, CancellationToken ct)
    {
        var unread = await db.Notifications.CountAsync(n => n.UserId == userId && n.ReadAt == null, ct);
        await hub.Clients.Group(NotificationHub.GroupName(userId)).UnreadChanged(unread);
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
