using MedSeg.Engine.Data;

namespace MedSeg.Web.Features.Predictions;

public enum PredictionRunStatus
{
    Queued,
    Running,
    Completed,
    Failed,
    /// <summary>The server stopped during the run; it starts again (from the first image) when the server is back.</summary>
    Interrupted,
}

/// <summary>One input image of a run: its name (the file stem, also the mask's name), where it lies under input/, its size.
/// A NIfTI volume has <paramref name="Slices"/> &gt; 0 (its slice count along <paramref name="Axis"/>, the axis its slices are
/// cut along; Width × Height is a slice) and its mask is <c>Name.nii.gz</c>.</summary>
public sealed record PredictionImage(string Name, string File, int Width, int Height, int Slices = 0,
    MedSeg.Engine.Data.Volumes.SliceAxis? Axis = null)
{
    public bool IsVolume => Slices > 0;
}

/// <summary>The state of a prediction run, kept as <c>status.json</c> in the run folder (written atomically).</summary>
public sealed record PredictionRunState(
    Guid Id,
    Guid ExperimentId,
    DateTime Created,
    PredictionRunStatus Status,
    bool TestTimeAugmentation,
    bool LargestComponent,
    IReadOnlyList<PredictionImage> Images,
    int Done = 0,
    string? Error = null,
    DateTime? Finished = null)
{
    public bool IsActive => Status is PredictionRunStatus.Queued or PredictionRunStatus.Running or PredictionRunStatus.Interrupted;
    /// <summary>The lease of a running run: which process runs it, and when it last said so (see <see cref="PredictJob"/>).</summary>
    public string? Runner { get; init; }
    public DateTime? Heartbeat { get; init; }
    /// <summary>How often the run was started again after the process running it died.</summary>
    public int Restarts { get; init; }
    /// <summary>The user who started the run (null for runs from before this was recorded: the experiment's owner).</summary>
    public string? CreatedBy { get; init; }
    /// <summary>The other members of an ensemble (the run's own experiment is the first member); empty for one model.</summary>
    public IReadOnlyList<Guid> Ensemble { get; init; } = [];
    /// <summary>Native resolution tiled with training-size windows (<see cref="Engine.Inference.PredictionMode.SlidingWindow"/>)
    /// instead of resizing each image to the training size.</summary>
    public bool SlidingWindow { get; init; }
}

/// <summary>A run as the list shows it.</summary>
/// <param name="CanManage">The asking user may delete it: whoever started it, the experiment's owner or an admin.</param>
public sealed record PredictionRunSummary(Guid Id, DateTime Created, PredictionRunStatus Status, int Images, int Done, string? Error,
    bool TestTimeAugmentation, bool LargestComponent, DateTime? Finished, bool CanManage = false)
{
    /// <summary>The other ensemble members (the experiment itself is the first); empty for one model.</summary>
    public IReadOnlyList<Guid> Ensemble { get; init; } = [];
    public bool SlidingWindow { get; init; }

    public bool IsActive => Status is PredictionRunStatus.Queued or PredictionRunStatus.Running or PredictionRunStatus.Interrupted;
}

/// <summary>A run with its images and, once done, the URLs of its renditions and of the masks archive.</summary>
public sealed record PredictionRunDetail(PredictionRunSummary Summary, IReadOnlyList<PredictedImageView> Results, string? MasksUrl);

/// <param name="Slices">A NIfTI volume: its slice count (Width × Height is a slice; no renditions, its mask is
/// <c>Name.nii.gz</c> in the masks archive); 0 for an image.</param>
public sealed record PredictedImageView(string Name, int Width, int Height, string ImageUrl, string MaskUrl, string OverlayUrl, bool HasMask,
    int Slices = 0);

public sealed record PredictionAccepted(Guid Id);

/// <summary>A run the predict page offers as an ensemble member: Completed, visible, trained on the same dataset version.</summary>
/// <param name="SameGroup">It belongs to the experiment's group (the other folds or seeds).</param>
public sealed record EnsembleCandidate(Guid Id, string Name, string Model, int? Fold, bool SameGroup);

/// <summary>What <see cref="PredictionService.StartAsync"/> made of an upload.</summary>
public abstract record StartPredictionResult
{
    public sealed record Started(Guid RunId) : StartPredictionResult;

    public sealed record NotFound : StartPredictionResult;

    public sealed record NotCompleted(string Status) : StartPredictionResult;

    public sealed record Refused(IReadOnlyList<DatasetProblem> Problems) : StartPredictionResult;

    /// <summary>A form field that cannot be used (400 naming it): <c>experimentIds</c> of an ensemble.</summary>
    public sealed record Invalid(string Field, string Message) : StartPredictionResult;

    /// <summary>The user's job quota is full (429).</summary>
    public sealed record OverQuota(Quotas.JobRefusal Refusal) : StartPredictionResult;
}

public enum PredictionRendition
{
    Image,
    Mask,
    Overlay,
}
