namespace MedSeg.Data.Entities;

public enum ShareKind
{
    Dataset = 0,
    Experiment = 1,
}

/// <summary>A read-only grant of a dataset or an experiment to one user, or to everyone (<see cref="UserId"/> null).</summary>
public sealed class Share
{
    public Guid Id { get; set; }
    public ShareKind Kind { get; set; }
    public Guid ResourceId { get; set; }
    /// <summary>The user it is shared with; null = every user of this server.</summary>
    public string? UserId { get; set; }
    public required string SharedById { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
}
