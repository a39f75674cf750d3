using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Web.Features.Notifications;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Webhooks against a real receiver on 127.0.0.1 (a Kestrel app): a run that ends is POSTed with the documented
/// body and a signature that verifies with the user's secret; a 500 is retried after the backoff; a receiver that keeps
/// failing ends the delivery as failed with its last error.</summary>
[Collection(AppCollection.Name)]
public sealed class WebhookTests(WebhookTests.App app) : IClassFixture<WebhookTests.App>
{
    public const string PublicUrl = "https://medseg.example.org/";

    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new(new()
        {
            ["MedSeg:PublicUrl"] = PublicUrl,
            ["MedSeg:Notifications:RetryBaseSeconds"] = "0.5",
            ["MedSeg:Notifications:PollSeconds"] = "0.1",
            ["MedSeg:Notifications:MaxAttempts"] = "3",
            ["MedSeg:Notifications:TimeoutSeconds"] = "5",
        });
        public void Dispose() => Factory.Dispose();
    }

    /// <summary>A webhook receiver on a free loopback port: answers <paramref name="statusFor"/>(n) to the n-th request (1-based).</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        public sealed record Hit(byte[] Body, string? Signature, string? Event, string? Delivery, string? ContentType, DateTime At);

        private readonly WebApplication web;
        public ConcurrentQueue<Hit> Hits { get; } = new();
        public string Url { get; }

        private Receiver(WebApplication web, string url) => (this.web, Url) = (web, url);

        public static async Task<Receiver> StartAsync(Func<int, int> statusFor)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
            var web = builder.Build();
            Receiver? self = null;
            web.MapPost("/hook", async (HttpRequest request) =>
            {
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer);
                self!.Hits.Enqueue(new Hit(buffer.ToArray(), request.Headers[WebhookPayload.SignatureHeader], request.Headers[WebhookPayload.EventHeader],
                    request.Headers[WebhookPayload.DeliveryHeader], request.ContentType, DateTime.UtcNow));
                return Results.StatusCode(statusFor(self.Hits.Count));
            });
            await web.StartAsync();
            self = new Receiver(web, web.Urls.First().TrimEnd('/') + "/hook");
            return self;
        }

        public async Task<List<Hit>> WaitForAsync(int count, TimeSpan timeout)
        {
            var until = DateTime.UtcNow + timeout;
            while (Hits.Count < count && DateTime.UtcNow < until) await Task.Delay(100);
            return [.. Hits];
        }

        public async ValueTask DisposeAsync()
        {
            await web.StopAsync();
            await web.DisposeAsync();
        }
    }

    private static bool SignatureVerifies(byte[] body, string? header, string secret) =>
        header == "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    private async Task<(TestUser User, string Secret)> UserWithWebhookAsync(string url)
    {
        var admin = await app.Factory.CreateAuthenticatedClientAsync();
        var user = await Accounts.CreateAsync(app.Factory, admin, "Member");
        await using var scope = app.Factory.Services.CreateAsyncScope();
        var saved = await scope.ServiceProvider.GetRequiredService<WebhookService>().SaveUrlAsync(user.Id, url);
        Assert.Null(saved.Error);
        Assert.NotNull(saved.NewSecret); // the first URL gets a secret, shown once
        return (user, saved.NewSecret!);
    }

    [Fact]
    public async Task ACompletedRunIsPostedSignedAndRetriedAfterA500()
    {
        await using var receiver = await Receiver.StartAsync(n => n == 1 ? 500 : 200);
        var (user, secret) = await UserWithWebhookAsync(receiver.Url);
        var upload = await user.Client.PostAsync("/api/datasets", DatasetsApiTests.Upload("webhook discs", SyntheticDataset.Zip(6, 32)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await user.Client.PostAsJsonAsync("/api/experiments",
            new { datasetId, name = "hooked run", model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, launch.StatusCode);
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var experiment = await ExperimentsApiTests.WaitForStatusAsync(user.Client, id, "Completed", TimeSpan.FromMinutes(3));

        var hits = await receiver.WaitForAsync(2, TimeSpan.FromSeconds(20));
        Assert.Equal(2, hits.Count);
        // The retry: the same delivery, after at least the first backoff (0.5 s here).
        Assert.Equal(hits[0].Delivery, hits[1].Delivery);
        Assert.True(hits[1].At - hits[0].At >= TimeSpan.FromSeconds(0.45), $"retried after {(hits[1].At - hits[0].At).TotalSeconds:F2} s");
        foreach (var hit in hits)
        {
            Assert.True(SignatureVerifies(hit.Body, hit.Signature, secret), $"signature {hit.Signature} does not verify");
            Assert.True(WebhookPayload.Verify(hit.Body, hit.Signature, secret));
            Assert.False(SignatureVerifies(hit.Body, hit.Signature, secret + "x"));
            Assert.StartsWith("application/json", hit.ContentType);
            Assert.Equal("experiment.completed", hit.Event);
        }
        // The body, as the README documents it.
        var body = JsonDocument.Parse(hits[1].Body).RootElement;
        Assert.Equal(["event", "experiment", "link", "sentAt"], body.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("experiment.completed", body.GetProperty("event").GetString());
        Assert.Equal($"https://medseg.example.org/experiments/{id}", body.GetProperty("link").GetString());
        Assert.True(DateTimeOffset.UtcNow - body.GetProperty("sentAt").GetDateTimeOffset() < TimeSpan.FromMinutes(1));
        var e = body.GetProperty("experiment");
        Assert.Equal(id, e.GetProperty("id").GetGuid());
        Assert.Equal("hooked run", e.GetProperty("name").GetString());
        Assert.Equal("unext", e.GetProperty("model").GetString());
        Assert.Equal("webhook discs", e.GetProperty("dataset").GetString());
        Assert.Equal("Completed", e.GetProperty("status").GetString());
        Assert.Equal(experiment.GetProperty("summary").GetProperty("bestDice").GetDouble(), e.GetProperty("bestDice").GetDouble(), 6);
        Assert.Equal(1, e.GetProperty("bestEpoch").GetInt32());
        Assert.Equal(1, e.GetProperty("epochs").GetInt32());
        Assert.Equal(1, e.GetProperty("epochsCompleted").GetInt32());
        Assert.Equal(1, e.GetProperty("final").GetProperty("epoch").GetInt32());
        Assert.True(e.GetProperty("final").GetProperty("validationDice").GetDouble() >= 0);
        Assert.Equal(JsonValueKind.Null, e.GetProperty("reason").ValueKind);

        // The outbox row: delivered on its second attempt.
        await using var scope = app.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var row = await db.WebhookDeliveries.AsNoTracking().SingleAsync(d => d.UserId == user.Id);
        Assert.Equal(("delivered", 2), (row.Status, row.Attempts));
        Assert.Equal(hits[0].Delivery, row.Id.ToString());
        // And the bell's notification, which links to the run.
        var mine = await user.Client.GetFromJsonAsync<JsonElement>("/api/notifications");
        Assert.Equal($"/experiments/{id}", mine[0].GetProperty("link").GetString());
        Assert.Equal("completed", mine[0].GetProperty("kind").GetString());
    }

    [Fact]
    public async Task AReceiverThatKeepsFailingEndsTheDeliveryAsFailedAfterTheLastAttempt()
    {
        await using var receiver = await Receiver.StartAsync(_ => 503);
        var (user, secret) = await UserWithWebhookAsync(receiver.Url);
        await using (var scope = app.Factory.Services.CreateAsyncScope())
        {
            Assert.NotNull(await scope.ServiceProvider.GetRequiredService<WebhookService>().SendTestAsync(user.Id));
        }
        var until = DateTime.UtcNow.AddSeconds(30);
        MedSeg.Data.Entities.WebhookDelivery row;
        do
        {
            await Task.Delay(200);
            await using var scope = app.Factory.Services.CreateAsyncScope();
            row = await scope.ServiceProvider.GetRequiredService<MedSegDbContext>().WebhookDeliveries.AsNoTracking().SingleAsync(d => d.UserId == user.Id);
        }
        while (row.Status == "pending" && DateTime.UtcNow < until);
        Assert.Equal("failed", row.Status);
        Assert.Equal(3, row.Attempts);
        Assert.Contains("503", row.LastError);
        await Task.Delay(1500); // no attempt after giving up
        Assert.Equal(3, receiver.Hits.Count);
        var test = receiver.Hits.First();
        Assert.True(SignatureVerifies(test.Body, test.Signature, secret));
        var body = JsonDocument.Parse(test.Body).RootElement;
        Assert.Equal("test", body.GetProperty("event").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("experiment").ValueKind);
        Assert.Equal("https://medseg.example.org/account", body.GetProperty("link").GetString());
    }

    [Fact]
    public async Task ARegeneratedSecretSignsTheNextDelivery()
    {
        await using var receiver = await Receiver.StartAsync(_ => 200);
        var (user, first) = await UserWithWebhookAsync(receiver.Url);
        await using var scope = app.Factory.Services.CreateAsyncScope();
        var webhooks = scope.ServiceProvider.GetRequiredService<WebhookService>();
        var second = await webhooks.RegenerateSecretAsync(user.Id);
        Assert.NotEqual(first, second);
        Assert.True((await webhooks.GetAsync(user.Id)).HasSecret);
        await webhooks.SendTestAsync(user.Id);
        var hit = Assert.Single(await receiver.WaitForAsync(1, TimeSpan.FromSeconds(20)));
        Assert.True(SignatureVerifies(hit.Body, hit.Signature, second));
        Assert.False(SignatureVerifies(hit.Body, hit.Signature, first));
    }

    [Theory]
    [InlineData("ftp://hooks.example.org/x")]
    [InlineData("javascript:alert(1)")]
    [InlineData("hooks.example.org/medseg")]
    [InlineData("https://user:pass@hooks.example.org/")]
    public async Task AWebhookUrlThatIsNotHttpIsRefusedNamingTheField(string url)
    {
        Assert.StartsWith("Webhook URL:", WebhookService.Check(url));
        var admin = await app.Factory.CreateAuthenticatedClientAsync();
        var user = await Accounts.CreateAsync(app.Factory, admin, "Member");
        await using var scope = app.Factory.Services.CreateAsyncScope();
        var webhooks = scope.ServiceProvider.GetRequiredService<WebhookService>();
        var result = await webhooks.SaveUrlAsync(user.Id, url);
        Assert.StartsWith("Webhook URL:", result.Error);
        Assert.Null((await webhooks.GetAsync(user.Id)).Url);
    }

    [Fact]
    public void HttpAndHttpsUrlsAndEmptyAreAccepted()
    {
        Assert.Null(WebhookService.Check("https://hooks.example.org/medseg?x=1"));
        Assert.Null(WebhookService.Check("http://127.0.0.1:8080/hook"));
        Assert.Null(WebhookService.Check(""));
        Assert.Null(WebhookService.Check(null));
    }
}
