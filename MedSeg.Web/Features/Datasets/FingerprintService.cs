using System.Threading.Channels;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Training;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Datasets;

/// <summary>
/// Computes and stores the fingerprint of a dataset's latest version (<see cref="VersionFingerprint"/>). An upload queues
/// it (<see cref="Enqueue"/>) and <see cref="FingerprintWorker"/> computes it after the upload has answered, so the
/// request never waits for it; a version without one (committed before fingerprints, or queued when the process
/// stopped) gets it on first view (<see cref="EnsureAsync"/>). One computation runs at a time in the process (it decodes
/// images on every core), and each version is computed once: a second caller waits for the first and reads its result.
/// A queue of its own rather than a Hangfire job: the Hangfire workers may all be busy training for hours.
/// </summary>
public sealed class FingerprintService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, ILogger<FingerprintService> logger)
{
    /// <summary>Intensities are measured on at most this many cases, spread evenly over the sorted names (Kvasir-SEG: 200 of
    /// its 800 JPEGs in 9 s on a shared 2-core machine); everything else is exact from every case's row.</summary>
    public const int MaxSampledCases = 200;

    /// <summary>Pixels kept per channel for the percentiles (all pixels; as many again for the foreground).</summary>
    private const int PercentileSamples = 100_000;

    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly Channel<Guid> queue = Channel.CreateUnbounded<Guid>(new UnboundedChannelOptions { SingleReader = true });

    internal ChannelReader<Guid> Queue => queue.Reader;

    /// <summary>Queues the fingerprint of a dataset's latest version (after its commit).</summary>
    public void Enqueue(Guid datasetId) => queue.Writer.TryWrite(datasetId);

    /// <summary>The stored fingerprint of the dataset's latest version, or null (never computes).</summary>
    public static async Task<VersionFingerprint?> StoredAsync(MedSegDbContext db, Dataset dataset, CancellationToken ct) =>
        VersionFingerprint.Parse(await db.DatasetVersions.AsNoTracking()
            .Where(v => v.DatasetId == dataset.Id && v.Number == dataset.Version).Select(v => v.FingerprintJson).FirstOrDefaultAsync(ct));

    /// <summary>The fingerprint of the dataset's latest version: the stored one, or computed now and stored. Null when the
    /// dataset, its version row or its files are gone. The caller has checked that the user may see the dataset.</summary>
    public async Task<VersionFingerprint?> EnsureAsync(Guid datasetId, CancellationToken ct = default)
    {
        if (await ReadAsync(datasetId, ct) is { Fingerprint: { } stored }) return stored;
        await gate.WaitAsync(ct);
        try
        {
            var (dataset, fingerprint) = await ReadAsync(datasetId, ct);
            if (fingerprint is not null || dataset is null) return fingerprint;
            await using var db = await contexts.CreateDbContextAsync(ct);
            var version = await db.DatasetVersions.FirstOrDefaultAsync(v => v.DatasetId == datasetId && v.Number == dataset.Version, ct);
            if (version is null) return null;
            var n = version.Number;
            var cases = await DatasetVersions.CasesOf(db, datasetId, n).OrderBy(c => c.Name).ToListAsync(ct);
            if (cases.Count == 0) return null;
            var started = DateTime.UtcNow;
            var computed = await Task.Run(() => Compute(dataset, n, cases, ct), ct);
            version.FingerprintJson = computed.Serialize();
            await db.SaveChangesAsync(CancellationToken.None);
            logger.LogInformation("Fingerprint of dataset {Id} version {Version}: {Cases} cases, {Sampled} measured, in {Seconds:F1} s",
                datasetId, n, cases.Count, computed.SampledCases, (DateTime.UtcNow - started).TotalSeconds);
            return computed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TrainingFailedException or InvalidDataException)
        {
            // Deleted while computing, or a stored file unreadable: nothing stored, the next view tries again.
            logger.LogWarning(e, "Could not compute the fingerprint of dataset {Id}", datasetId);
            return null;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<(Dataset? Dataset, VersionFingerprint? Fingerprint)> ReadAsync(Guid datasetId, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var dataset = await db.Datasets.AsNoTracking().FirstOrDefaultAsync(d => d.Id == datasetId, ct);
        return dataset is null ? (null, null) : (dataset, await StoredAsync(db, dataset, ct));
    }

    private VersionFingerprint Compute(Dataset dataset, int version, IReadOnlyList<DatasetCase> cases, CancellationToken ct)
    {
        var folder = store.DatasetDirectory(dataset.Id);
        var sample = Sample(cases, MaxSampledCases);
        var training = sample.Select(c => new TrainingCase(c.Name, ArtifactStore.Resolve(folder, c.ImagePath), ArtifactStore.Resolve(folder, c.MaskPath))).ToList();
        var measured = DatasetFingerprint.Compute(training, PercentileSamples, ct: ct);
        return VersionFingerprint.Build(version, cases, measured, sample.Count, dataset.Classes);
    }

    /// <summary>At most <paramref name="limit"/> cases spread evenly over <paramref name="cases"/> (all of them when fewer).</summary>
    internal static IReadOnlyList<T> Sample<T>(IReadOnlyList<T> cases, int limit) =>
        cases.Count <= limit ? cases : [.. Enumerable.Range(0, limit).Select(i => cases[(int)((long)i * cases.Count / limit)])];
}

/// <summary>Computes the fingerprints that uploads queue, one at a time, after their requests have answered.</summary>
public sealed class FingerprintWorker(FingerprintService fingerprints, ILogger<FingerprintWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var id in fingerprints.Queue.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await fingerprints.EnsureAsync(id, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "Fingerprint of dataset {Id} failed; it is computed on first view", id);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
