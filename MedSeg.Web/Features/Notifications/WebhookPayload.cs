using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MedSeg.Web.Features.Notifications;

/// <summary>The run in a webhook body: what ended, with its best and final metrics and the reason it stopped or failed.</summary>
public sealed record WebhookExperiment(Guid Id, string Name, string Model, string Dataset, string Status, double? BestDice,
    int? BestEpoch, int EpochsCompleted, int Epochs, WebhookFinalMetrics? Final, string? Reason);

/// <summary>The last epoch's validation metrics.</summary>
public sealed record WebhookFinalMetrics(int Epoch, double TrainLoss, double ValidationLoss, double ValidationDice, double ValidationIoU);

/// <summary>
/// The JSON body POSTed to a user's webhook (documented in the README, "Notifications and webhooks"):
/// <c>{event, experiment, link, sentAt}</c>, camelCase, signed with HMAC-SHA256 of the exact body bytes under the user's
/// secret in <c>X-MedSeg-Signature: sha256=&lt;hex&gt;</c>. The row stores it without <c>sentAt</c>, set at each attempt.
/// </summary>
public static class WebhookPayload
{
    public const string SignatureHeader = "X-MedSeg-Signature";
    public const string EventHeader = "X-MedSeg-Event";
    public const string DeliveryHeader = "X-MedSeg-Delivery";

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The stored body (no <c>sentAt</c> yet).</summary>
    public static string Create(string @event, WebhookExperiment? experiment, string link) =>
        JsonSerializer.Serialize(new { @event, experiment, link }, Json);

    /// <summary>The body of one attempt: the stored one with <c>sentAt</c>.</summary>
    public static byte[] ForAttempt(string stored, DateTimeOffset sentAt)
    {
        var node = JsonNode.Parse(stored)!.AsObject();
        node["sentAt"] = sentAt.ToUniversalTime().ToString("O");
        return Encoding.UTF8.GetBytes(node.ToJsonString(Json));
    }

    /// <summary><c>sha256=</c> and the lower-case hex HMAC-SHA256 of the body under the secret.</summary>
    public static string Sign(byte[] body, string secret) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    /// <summary>Whether a received body and header match the secret (what a receiver does, in constant time).</summary>
    public static bool Verify(byte[] body, string? header, string secret) =>
        header is not null && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(body, secret)), Encoding.ASCII.GetBytes(header));

    /// <summary>The link to a page: absolute under <c>MedSeg:PublicUrl</c> when set, else as given (app-relative).</summary>
    public static string Absolute(string link, string? publicUrl) =>
        string.IsNullOrWhiteSpace(publicUrl) || string.IsNullOrEmpty(link) ? link : publicUrl.TrimEnd('/') + link;
}
