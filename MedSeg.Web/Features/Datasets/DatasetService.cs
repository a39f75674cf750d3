#pragma warning disable CS9113 // filled in by the services commit
using MedSeg.Data;
using MedSeg.Data.Files;

namespace MedSeg.Web.Features.Datasets;

/// <summary>Datasets: upload (validate everything, then commit one immutable version), list, browse cases.</summary>
public sealed partial class DatasetService(MedSegDbContext db, ArtifactStore store, ILogger<DatasetService> logger)
{
    public Task<IReadOnlyList<DatasetSummary>> ListAsync(UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<DatasetSummary?> GetAsync(Guid id, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<DatasetCaseSummary>> ListCasesAsync(Guid datasetId, UserContext user, int skip, int take, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<IngestResult> IngestZipAsync(string name, Stream zip, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    /// <summary>A PNG rendition of a case for the browser; null when the case is not visible to the user.</summary>
    public Task<byte[]?> RenderCaseAsync(Guid datasetId, Guid caseId, CaseRendition rendition, int size, UserContext user, CancellationToken ct = default) => throw new NotSupportedException();

    /// <summary>Browser URL of a rendition of a case (PNG, longest side at most <paramref name="size"/>; 0 = original).</summary>
    public static string CaseUrl(Guid datasetId, Guid caseId, CaseRendition rendition, int size = 256) =>
        $"/api/datasets/{datasetId}/cases/{caseId}/{rendition.ToString().ToLowerInvariant()}.png?size={size}";
}
