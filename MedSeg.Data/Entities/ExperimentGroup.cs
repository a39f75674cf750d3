namespace MedSeg.Data.Entities;

/// <summary>Runs launched together as one action: N seeds of one configuration, or every fold of a saved split. The members
/// are the experiments whose <see cref="Experiment.GroupId"/> is this group's id.</summary>
public sealed class ExperimentGroup
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string OwnerId { get; set; }
    public Guid DatasetId { get; set; }
    /// <summary>"seeds" or "folds".</summary>
    public required string Kind { get; set; }
    /// <summary>The saved split of a folds group; null for seeds.</summary>
    public Guid? SplitId { get; set; }
    /// <summary>The launch request the members were made from (JSON), the seed or fold of each member aside.</summary>
    public required string BaseJson { get; set; }
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
}
