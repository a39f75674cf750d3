namespace MedSeg.Data.Entities;

/// <summary>A personal bearer token. Only the SHA-256 of the token is stored; revoking deletes the row.</summary>
public sealed class ApiToken
{
    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public required string TokenHash { get; set; }
    /// <summary>What the owner called it ("laptop script"); tokens from before names existed are "token".</summary>
    public string Name { get; set; } = "token";
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    /// <summary>Written (at most once a minute) when the token authenticates a request.</summary>
    public DateTimeOffset? LastUsedAt { get; set; }
    /// <summary>After this the token no longer works; null only for tokens made before expiries existed.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
}
