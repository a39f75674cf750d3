using MedSeg.Web.Features.Account;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR.Client;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// A Blazor component's subscription to one experiment's SignalR group: the circuit connects to
/// <see cref="ExperimentHub"/> as the signed-in user (a short-lived hub ticket), so the same hub serves the UI,
/// scripts and other nodes. Handlers run on the hub connection's thread: use InvokeAsync(StateHasChanged).
/// </summary>
public sealed class ExperimentLiveFeed(IServer server, NavigationManager navigation, AuthenticationStateProvider authentication,
    ApiTokenService tokens, IHostApplicationLifetime lifetime, ILogger<ExperimentLiveFeed> logger) : IAsyncDisposable
{
    private HubConnection? connection;

    public event Func<BatchProgressMessage, Task>? BatchProgress;
    public event Func<EpochCompletedMessage, Task>? EpochCompleted;
    public event Func<PreviewsUpdatedMessage, Task>? PreviewsUpdated;
    public event Func<StatusChangedMessage, Task>? StatusChanged;

    /// <summary>Connects and joins the experiment's group. Safe to call once per component.</summary>
    public async Task StartAsync(Guid experimentId, CancellationToken ct = default)
    {
        if (connection is not null) return;
        var state = await authentication.GetAuthenticationStateAsync();
        var userId = UserContext.From(state.User).UserId;
        var url = new Uri(SelfBaseUri(server, navigation), ExperimentHub.Url);
        connection = new HubConnectionBuilder()
            .WithUrl(url, o => o.AccessTokenProvider = () => Task.FromResult<string?>(tokens.CreateHubTicket(userId)))
            .WithAutomaticReconnect()
            .Build();
        connection.On<BatchProgressMessage>(nameof(IExperimentClient.BatchProgress), m => RaiseAsync(m));
        connection.On<EpochCompletedMessage>(nameof(IExperimentClient.EpochCompleted), m => RaiseAsync(m));
        connection.On<PreviewsUpdatedMessage>(nameof(IExperimentClient.PreviewsUpdated), m => RaiseAsync(m));
        connection.On<StatusChangedMessage>(nameof(IExperimentClient.StatusChanged), m => RaiseAsync(m));
        connection.Reconnected += _ => connection.InvokeAsync(nameof(ExperimentHub.Join), experimentId);
        // The app stopping closes this connection to itself at once (a reconnecting client holds the host's shutdown).
        var own = connection;
        stopping = lifetime.ApplicationStopping.Register(() => _ = own.StopAsync());
        await connection.StartAsync(ct);
        await connection.InvokeAsync(nameof(ExperimentHub.Join), experimentId, ct);
    }

    private CancellationTokenRegistration stopping;

    public async ValueTask DisposeAsync()
    {
        await stopping.DisposeAsync();
        if (connection is not null)
        {
            try
            {
                await connection.DisposeAsync();
            }
            catch (Exception e)
            {
                logger.LogDebug(e, "Closing the live feed failed");
            }
            connection = null;
        }
    }

    internal Task RaiseAsync(object message) => message switch
    {
        BatchProgressMessage m => BatchProgress?.Invoke(m) ?? Task.CompletedTask,
        EpochCompletedMessage m => EpochCompleted?.Invoke(m) ?? Task.CompletedTask,
        PreviewsUpdatedMessage m => PreviewsUpdated?.Invoke(m) ?? Task.CompletedTask,
        StatusChangedMessage m => StatusChanged?.Invoke(m) ?? Task.CompletedTask,
        _ => Task.CompletedTask,
    };

    /// <summary>The app's own listening address (loopback for wildcard bindings), else the browser-facing base URI.</summary>
    internal static Uri SelfBaseUri(IServer server, NavigationManager navigation)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault();
        if (address is null) return new Uri(navigation.BaseUri);
        address = address.Replace("://+", "://localhost").Replace("://*", "://localhost")
            .Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://[::1]");
        return new Uri(address.TrimEnd('/') + "/");
    }
}
