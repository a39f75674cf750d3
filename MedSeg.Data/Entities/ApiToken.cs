namespace MedSeg.Data.Entities;

/// <summary>A personal bearer token. Only the SHA-256 of the token is stored.</summary>
public sealed class ApiToken
{
    public Guid Id { get; set; }
    public required string UserId { get; set; }
    public required string TokenHash { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
    public DateTimeOffset? LastUsedAt { get; set; }
}
