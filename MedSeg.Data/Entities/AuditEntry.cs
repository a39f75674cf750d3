namespace MedSeg.Data.Entities;

/// <summary>
/// One row of the append-only audit log: who did what to which item, when, from where, and whether it was allowed.
/// Never holds file contents, passwords or token secrets. <see cref="MedSegDbContext"/> refuses to update or delete rows.
/// </summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; } = DateTimeOffset.UtcNow;
    /// <summary>The acting user's id; null for an anonymous attempt (a failed sign-in with an unknown email).</summary>
    public string? ActorId { get; set; }
    /// <summary>The actor's email (or the email tried) at the time, so the row reads the same after renames.</summary>
    public string ActorName { get; set; } = "";
    /// <summary>Dotted verb, e.g. <c>user.create</c>, <c>dataset.delete</c>, <c>signin.failure</c> (see AuditActions).</summary>
    public required string Action { get; set; }
    /// <summary>user, dataset, experiment, prediction, token, share.</summary>
    public string? TargetKind { get; set; }
    public string? TargetId { get; set; }
    /// <summary>A short human description (a name, a role change, the space freed).</summary>
    public string? Detail { get; set; }
    public string? IpAddress { get; set; }
    public bool Succeeded { get; set; } = true;
}
