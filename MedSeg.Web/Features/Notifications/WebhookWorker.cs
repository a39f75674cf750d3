using System.Net.Http.Headers;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Notifications;

/// <summary>
/// Delivers the webhook outbox (<see cref="WebhookDelivery"/> rows): each due pending row is claimed with a conditional
/// update (one node sends it), POSTed with its signature, and then delivered, or retried after
/// <see cref="NotificationsOptions.RetryDelay"/> (5, 10, 20, 40, 80 s), or failed with its last error after
/// <see cref="NotificationsOptions.MaxAttempts"/>. The rows are the state: a restart continues where it stopped.
/// </summary>
public sealed class WebhookWorker(IDbContextFactory<MedSegDbContext> contexts, IHttpClientFactory http, IOptions<NotificationsOptions> options,
    ILogger<WebhookWorker> logger) : BackgroundService
{
    public const string ClientName = "webhooks";
    private const int Batch = 20;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(Math.Max(0.05, options.Value.PollSeconds));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DeliverDueAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Webhook delivery pass failed");
            }
            await Task.Delay(poll, stoppingToken);
        }
    }

    /// <summary>Sends every delivery that is due now; returns how many it attempted.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var settings = options.Value;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = DateTimeOffset.UtcNow;
        var due = await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.Status == "pending" && d.NextAttemptAt <= now)
            .OrderBy(d => d.NextAttemptAt).Take(Batch).ToListAsync(ct);
        var attempted = 0;
        foreach (var d in due)
        {
            // Claim: the attempt is counted and the row hidden for longer than a request takes, so that another node (or a
            // restart mid-request) does not send it at the same time.
            var hold = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(settings.TimeoutSeconds + 30);
            var claimed = await db.WebhookDeliveries
                .Where(x => x.Id == d.Id && x.Status == "pending" && x.Attempts == d.Attempts)
                .ExecuteUpdateAsync(u => u.SetProperty(x => x.Attempts, d.Attempts + 1).SetProperty(x => x.NextAttemptAt, hold), ct);
            if (claimed != 1) continue;
            attempted++;
            var attempts = d.Attempts + 1;
            var secret = await db.Users.Where(u => u.Id == d.UserId).Select(u => u.WebhookSecret).FirstOrDefaultAsync(ct);
            var error = await SendAsync(d, secret, ct);
            var at = DateTimeOffset.UtcNow;
            if (error is null)
            {
                await db.WebhookDeliveries.Where(x => x.Id == d.Id).ExecuteUpdateAsync(u => u
                    .SetProperty(x => x.Status, "delivered").SetProperty(x => x.DeliveredAt, at).SetProperty(x => x.LastError, (string?)null), ct);
                logger.LogInformation("Webhook {Id} delivered on attempt {Attempt}", d.Id, attempts);
                continue;
            }
            error = error.Length <= 2000 ? error : error[..2000];
            var giveUp = attempts >= settings.MaxAttempts;
            var next = at + settings.RetryDelay(attempts);
            await db.WebhookDeliveries.Where(x => x.Id == d.Id).ExecuteUpdateAsync(u => u
                .SetProperty(x => x.Status, giveUp ? "failed" : "pending")
                .SetProperty(x => x.NextAttemptAt, next)
                .SetProperty(x => x.LastError, error), ct);
            logger.LogWarning("Webhook {Id} attempt {Attempt} of {Max} failed: {Error}{Then}", d.Id, attempts, settings.MaxAttempts, error,
                giveUp ? "; giving up" : $"; next try at {next:O}");
        }
        return attempted;
    }

    /// <summary>One POST; null on a 2xx answer, else what went wrong.</summary>
    private async Task<string?> SendAsync(WebhookDelivery d, string? secret, CancellationToken ct)
    {
        try
        {
            var body = WebhookPayload.ForAttempt(d.PayloadJson, DateTimeOffset.UtcNow);
            using var request = new HttpRequestMessage(HttpMethod.Post, d.Url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            request.Headers.TryAddWithoutValidation(WebhookPayload.DeliveryHeader, d.Id.ToString());
            if (System.Text.Json.Nodes.JsonNode.Parse(d.PayloadJson)?["event"]?.GetValue<string>() is { } name)
                request.Headers.TryAddWithoutValidation(WebhookPayload.EventHeader, name);
            if (!string.IsNullOrEmpty(secret)) request.Headers.TryAddWithoutValidation(WebhookPayload.SignatureHeader, WebhookPayload.Sign(body, secret));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(Math.Max(0.1, options.Value.TimeoutSeconds)));
            using var response = await http.CreateClient(ClientName).SendAsync(request, timeout.Token);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"No answer within {options.Value.TimeoutSeconds:0.#} s.";
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
    }
}
