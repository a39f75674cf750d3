using MedSeg.Web.Features.Account;
using MedSeg.Web.Features.Experiments;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.SignalR.Client;

namespace MedSeg.Web.Features.Notifications;

/// <summary>The bell's subscription to <see cref="NotificationHub"/>, as the signed-in user (a hub ticket, as
/// <see cref="ExperimentLiveFeed"/> does), so that a run ending on any node reaches it. Handlers run off the renderer's
/// thread: use InvokeAsync.</summary>
public sealed class NotificationFeed(IServer server, NavigationManager navigation, AuthenticationStateProvider authentication,
    ApiTokenService tokens, IHostApplicationLifetime lifetime, ILogger<NotificationFeed> logger) : IAsyncDisposable
{
    private HubConnection? connection;
    private CancellationTokenRegistration stopping;

    public event Func<NotificationView, Task>? Notified;
    public event Func<int, Task>? UnreadChanged;
    /// <summary>The connection came back after a drop: what arrived meanwhile is in the database, not in the feed.</summary>
    public event Func<Task>? Reconnected;

    public async Task StartAsync(CancellationToken ct = default)
    {
        if (connection is not null) return;
        var state = await authentication.GetAuthenticationStateAsync();
        var userId = UserContext.From(state.User).UserId;
        connection = new HubConnectionBuilder()
            .WithUrl(new Uri(ExperimentLiveFeed.SelfBaseUri(server, navigation), NotificationHub.Url),
                o => o.AccessTokenProvider = () => Task.FromResult<string?>(tokens.CreateHubTicket(userId)))
            .WithAutomaticReconnect()
            .Build();
        connection.On<NotificationView>(nameof(INotificationClient.Notified), n => Notified?.Invoke(n) ?? Task.CompletedTask);
        connection.On<int>(nameof(INotificationClient.UnreadChanged), n => UnreadChanged?.Invoke(n) ?? Task.CompletedTask);
        connection.Reconnected += _ => Reconnected?.Invoke() ?? Task.CompletedTask;
        // The app stopping closes this connection to itself at once: a client that keeps reconnecting to the stopping
        // server would hold the host's shutdown until its timeout.
        var own = connection;
        stopping = lifetime.ApplicationStopping.Register(() => _ = own.StopAsync());
        await connection.StartAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (connection is null) return;
        await stopping.DisposeAsync();
        try
        {
            await connection.DisposeAsync();
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Closing the notification feed failed");
        }
        connection = null;
    }
}
