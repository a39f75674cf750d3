using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace MedSeg.Web.Features.Notifications;

/// <summary>A signed-in user's notifications, live: each connection joins its user's group on connect and calls nothing
/// (a group, not <c>Clients.User</c>, so that a Redis backplane carries it like the experiment groups).</summary>
[Authorize]
public sealed class NotificationHub : Hub<INotificationClient>
{
    public const string Url = "/hubs/notifications";

    public static string GroupName(string userId) => $"user-{userId}";

    public override async Task OnConnectedAsync()
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, GroupName(UserContext.From(Context.User!).UserId));
        await base.OnConnectedAsync();
    }
}
