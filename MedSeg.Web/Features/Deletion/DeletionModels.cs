namespace MedSeg.Web.Features.Deletion;

/// <summary>An item named in a refusal or a confirmation: its id and name.</summary>
public sealed record ItemRef(Guid Id, string Name);

/// <summary>The ids of what one delete removed.</summary>
public sealed record DeletedItems(IReadOnlyList<Guid> Datasets, IReadOnlyList<Guid> Experiments, IReadOnlyList<Guid> PredictionRuns);

/// <summary>What <c>DELETE</c> answers: the bytes freed on disk and what went.</summary>
public sealed record DeleteResponse(long FreedBytes, DeletedItems Deleted);

/// <summary>What a delete did, or why it did nothing.</summary>
public abstract record DeleteOutcome
{
    public sealed record Done(DeleteResponse Response) : DeleteOutcome;

    /// <summary>No such item visible to the user (404).</summary>
    public sealed record NotFound : DeleteOutcome;

    /// <summary>Visible, but the user may not delete it: a Viewer, or shared read-only (403).</summary>
    public sealed record Forbidden(string Message) : DeleteOutcome;

    /// <summary>Nothing was deleted (409): in use, still stopping, a prediction in progress. <paramref name="Experiments"/>
    /// names the experiments concerned, when there are any.</summary>
    public sealed record Conflict(string Title, string Message, IReadOnlyList<ItemRef> Experiments) : DeleteOutcome;
}

/// <summary>What deleting a dataset would remove, for the confirmation dialog.</summary>
/// <param name="Experiments">The experiments using it that the user can see.</param>
/// <param name="HiddenExperiments">Experiments of other users on it that the user cannot see (they block the delete).</param>
/// <param name="BlockedExperiments">Those of <paramref name="Experiments"/> the user may not delete (shared read-only).</param>
public sealed record DatasetDeletePlan(Guid Id, string Name, int Cases, long Bytes, IReadOnlyList<ItemRef> Experiments,
    long ExperimentBytes, int HiddenExperiments, IReadOnlyList<ItemRef> BlockedExperiments)
{
    public bool CanDeleteWithExperiments => HiddenExperiments == 0 && BlockedExperiments.Count == 0;
}

/// <summary>What deleting an experiment would remove, for the confirmation dialog.</summary>
public sealed record ExperimentDeletePlan(Guid Id, string Name, string Status, bool Active, int PredictionRuns, long Bytes);

/// <summary>What deleting a prediction run would remove, for the confirmation dialog.</summary>
public sealed record PredictionRunDeletePlan(Guid ExperimentId, Guid RunId, int Images, bool Active, long Bytes);
