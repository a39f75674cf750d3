#pragma warning disable CS9113 // filled in by the services commit
using MedSeg.Data;
using MedSeg.Data.Files;
using MedSeg.Engine.Models;

namespace MedSeg.Web.Features.Experiments;

/// <summary>An architecture offered by the launch form.</summary>
public sealed record ModelChoice(string Name, string Description, int SizeMultiple);

/// <summary>Experiments: launch (snapshot config and split, enqueue the job), list, details, review, cancel.</summary>
public sealed partial class ExperimentService(MedSegDbContext db, ArtifactStore store, ILogger<ExperimentService> logger)
{
    public static IReadOnlyList<ModelChoice> Models { get; } =
        [.. ModelRegistry.All.Select(m => new ModelChoice(m.Name, m.Description, 32))];

    public Task<IReadOnlyList<ExperimentSummary>> ListAsync(UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<ExperimentDetail?> GetAsync(Guid id, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    /// <summary>Validates the request (field errors), snapshots the experiment and enqueues the training job.</summary>
    public Task<LaunchResult> LaunchAsync(LaunchRequest request, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    /// <summary>Evaluated validation cases, worst Dice first; null when the experiment is not visible to the user.</summary>
    public Task<IReadOnlyList<CaseResultView>?> GetCaseResultsAsync(Guid id, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<bool> CancelAsync(Guid id, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    /// <summary>A PNG artifact of a run (path relative to the run folder) or a rendition; null when not visible.</summary>
    public Task<byte[]?> RenderArtifactAsync(Guid id, string path, int size, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    /// <summary>Re-enqueues an interrupted, failed or cancelled run; it continues from its last checkpoint.</summary>
    public Task<bool> ResumeAsync(Guid id, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();
}
