using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Features.Notifications;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace MedSeg.Web.Tests.Web;

/// <summary>The notifications API and hub on the real app: a cancelled run notifies its owner (not the admin who cancelled
/// it), each user lists and marks only their own, and the owner's hub connection is told live while another's is not.</summary>
[Collection(AppCollection.Name)]
public sealed class NotificationsApiTests(NotificationsApiTests.App app) : IClassFixture<NotificationsApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private MedSegAppFactory Factory => app.Factory;

    private async Task<HubConnection> ConnectAsync(HttpClient client, ConcurrentQueue<NotificationView> received)
    {
        var token = client.DefaultRequestHeaders.Authorization!.Parameter!;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(Factory.Server.BaseAddress, NotificationHub.Url), o =>
            {
                o.HttpMessageHandlerFactory = _ => Factory.Server.CreateHandler();
                o.Transports = HttpTransportType.LongPolling;
                o.AccessTokenProvider = () => Task.FromResult<string?>(token);
            })
            .Build();
        connection.On<NotificationView>(nameof(INotificationClient.Notified), n => received.Enqueue(n));
        await connection.StartAsync();
        return connection;
    }

    private static async Task<Guid> LaunchLongRunAsync(HttpClient client, string name)
    {
        var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload(name + " data", SyntheticDataset.Zip(4, 32)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, name, model = "unext", epochs = 50, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, launch.StatusCode);
        return (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task ACancelledRunNotifiesItsOwnerOnlyLiveAndInTheList()
    {
        var admin = await Factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(Factory, admin, "Member");
        var other = await Accounts.CreateAsync(Factory, admin, "Member");
        ConcurrentQueue<NotificationView> ownerLive = new(), otherLive = new(), adminLive = new();
        await using var ownerHub = await ConnectAsync(owner.Client, ownerLive);
        await using var otherHub = await ConnectAsync(other.Client, otherLive);
        await using var adminHub = await ConnectAsync(admin, adminLive);

        var id = await LaunchLongRunAsync(owner.Client, "to cancel");
        // The admin cancels the owner's run: the owner hears of it, with who did it.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/experiments/{id}/cancel", null)).StatusCode);

        var until = DateTime.UtcNow.AddSeconds(15);
        while (ownerLive.IsEmpty && DateTime.UtcNow < until) await Task.Delay(100);
        var pushed = Assert.Single(ownerLive);
        Assert.Equal(("cancelled", id, $"/experiments/{id}"), (pushed.Kind, pushed.ExperimentId, pushed.Link));
        Assert.Contains("to cancel", pushed.Title);
        Assert.StartsWith("Cancelled by", pushed.Message);
        await Task.Delay(500);
        Assert.Empty(otherLive);
        Assert.Empty(adminLive);

        var list = await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications");
        var n = Assert.Single(list.EnumerateArray());
        Assert.Equal(pushed.Id, n.GetProperty("id").GetGuid());
        Assert.False(n.GetProperty("read").GetBoolean());
        Assert.Equal(1, (await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications?unread=true")).GetArrayLength());
        Assert.Equal(0, (await other.Client.GetFromJsonAsync<JsonElement>("/api/notifications")).GetArrayLength());
        Assert.DoesNotContain((await admin.GetFromJsonAsync<JsonElement>("/api/notifications")).EnumerateArray(),
            x => x.GetProperty("id").GetGuid() == pushed.Id);

        // Someone else's notification is not theirs to mark, not even an admin's.
        Assert.Equal(HttpStatusCode.NotFound, (await other.Client.PostAsync($"/api/notifications/{pushed.Id}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/notifications/{pushed.Id}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.PostAsync($"/api/notifications/{Guid.NewGuid()}/read", null)).StatusCode);
        var none = await (await other.Client.PostAsync("/api/notifications/read-all", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, none.GetProperty("marked").GetInt32());
        Assert.Equal(1, (await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications?unread=true")).GetArrayLength());

        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.PostAsync($"/api/notifications/{pushed.Id}/read", null)).StatusCode);
        Assert.Equal(0, (await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications?unread=true")).GetArrayLength());
        Assert.True((await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications"))[0].GetProperty("read").GetBoolean());
    }

    [Fact]
    public async Task ReadAllMarksEveryUnreadNotificationOfTheCaller()
    {
        var admin = await Factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(Factory, admin, "Member");
        foreach (var name in new[] { "first", "second" })
        {
            var id = await LaunchLongRunAsync(owner.Client, name);
            Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.PostAsync($"/api/experiments/{id}/cancel", null)).StatusCode);
        }
        var list = await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications?unread=true");
        Assert.Equal(2, list.GetArrayLength());
        Assert.Contains("second", list[0].GetProperty("title").GetString()); // newest first
        Assert.Equal("Cancelled by you.", list[0].GetProperty("message").GetString());
        var marked = await (await owner.Client.PostAsync("/api/notifications/read-all", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, marked.GetProperty("marked").GetInt32());
        Assert.Equal(0, (await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications?unread=true")).GetArrayLength());
        Assert.Equal(2, (await owner.Client.GetFromJsonAsync<JsonElement>("/api/notifications")).GetArrayLength());
    }

    [Fact]
    public async Task TheHubRefusesAnonymousConnections()
    {
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(Factory.Server.BaseAddress, NotificationHub.Url), o =>
            {
                o.HttpMessageHandlerFactory = _ => Factory.Server.CreateHandler();
                o.Transports = HttpTransportType.LongPolling;
            })
            .Build();
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }
}
