using System.IO.Compression;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Export;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Experiments;

/// <summary>What <see cref="ExperimentExportService.ZipAsync"/> answers.</summary>
public abstract record ExportZipResult
{
    private ExportZipResult() { }

    /// <summary>No such experiment, or not visible to the user.</summary>
    public sealed record NotFound : ExportZipResult;

    /// <summary>The zip of the run's <c>export/</c> folder.</summary>
    public sealed record Ready(string Path) : ExportZipResult;

    /// <summary>No weights to export (yet): the sentence says why and what to do.</summary>
    public sealed record NoWeights(string Title, string Detail) : ExportZipResult;
}

/// <summary>
/// A finished run's weights out of the browser: <c>medseg export</c> (<see cref="ModelExporter"/>: <c>model.dat</c>,
/// <c>model.pt</c>, <c>model.safetensors</c>, <c>model.json</c>) run as a supervised child into the run's <c>export/</c>
/// folder (written to a temporary folder, then renamed), and zipped as <c>export.zip</c> beside it. Both are kept and
/// rebuilt only when the checkpoint is newer (a resumed run).
/// </summary>
public sealed class ExperimentExportService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, IOptions<JobsOptions> jobs,
    ILogger<ExperimentExportService> logger)
{
    public const string ExportZip = "export.zip";
    public const string ExportFolder = "export";

    /// <summary>One export at a time in this process: two clicks on "Download weights" build it once.</summary>
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static string ZipUrl(Guid id) => $"/api/experiments/{id}/{ExportZip}";

    /// <summary>Queued, Running and Interrupted runs are still changing their weights.</summary>
    public static bool IsFinished(ExperimentStatus status) =>
        status is ExperimentStatus.Completed or ExperimentStatus.Failed or ExperimentStatus.Cancelled;

    /// <summary>Whether the run can be exported now: finished, with a checkpoint (best, else last).</summary>
    public bool HasWeights(Guid id, ExperimentStatus status) => IsFinished(status) && WeightsFile(store.ExperimentDirectory(id)) is not null;

    /// <summary>The checkpoint the export is made from (the predictor's choice: best, else last), or null.</summary>
    private static string? WeightsFile(string runDirectory) =>
        new[] { "best", "last" }.Select(t => Checkpoints.Weights(runDirectory, t)).FirstOrDefault(File.Exists);

    public async Task<ExportZipResult> ZipAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        ExperimentStatus status;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var found = await Access.Experiments(db, user).Where(e => e.Id == id).Select(e => (ExperimentStatus?)e.Status).FirstOrDefaultAsync(ct);
            if (found is not { } s) return new ExportZipResult.NotFound();
            status = s;
        }
        if (!IsFinished(status))
            return new ExportZipResult.NoWeights("The run has not finished",
                $"The run is {status}; its weights can be downloaded once it has finished. Wait for it to complete, or cancel it to download the best checkpoint so far.");
        var runDirectory = store.ExperimentDirectory(id);
        if (WeightsFile(runDirectory) is not { } weights)
            return new ExportZipResult.NoWeights("The run has no weights",
                $"The run ended ({status}) before it saved a checkpoint (checkpoints/best.pt or last.pt): there are no weights to download. Launch it again (Clone) and let it finish an epoch.");

        var zip = Path.Combine(runDirectory, ExportZip);
        if (IsFresh(zip, weights)) return new ExportZipResult.Ready(zip);
        await Gate.WaitAsync(ct);
        var temp = Path.Combine(runDirectory, $"{ExportFolder}.tmp-{Guid.NewGuid():N}");
        try
        {
            if (IsFresh(zip, weights)) return new ExportZipResult.Ready(zip);
            if (await ExportInChildAsync(runDirectory, temp, ct) is { } failure)
                return new ExportZipResult.NoWeights("The weights could not be exported", failure);
            var target = Path.Combine(runDirectory, ExportFolder);
            if (Directory.Exists(target))
            {
                var old = target + $".old-{Guid.NewGuid():N}";
                Directory.Move(target, old);
                Directory.Delete(old, recursive: true);
            }
            Directory.Move(temp, target);
            await Task.Run(() => Build(target, zip), ct);
            return new ExportZipResult.Ready(zip);
        }
        finally
        {
            Gate.Release();
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>The zip is newer than the checkpoint it was made from.</summary>
    private static bool IsFresh(string zip, string weights) =>
        File.Exists(zip) && File.GetLastWriteTimeUtc(zip) >= File.GetLastWriteTimeUtc(weights);

    /// <summary>Runs <c>medseg export</c>; null when it finished, else the reason (no server path in it).</summary>
    private async Task<string?> ExportInChildAsync(string runDirectory, string outputDirectory, CancellationToken ct)
    {
        var start = ChildCommands.ExportOf(runDirectory, outputDirectory) with
        {
            Environment = jobs.Value.ChildEnvironment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
        };
        var outcome = await ChildSupervisor.RunAsync(start, jobs.Value.ChildLimits, _ => { },
            line => logger.LogDebug("Export child: {Line}", line), ct);
        if (outcome.End == ChildEnd.Finished && File.Exists(Path.Combine(outputDirectory, ModelExporter.ManifestFile))) return null;
        ct.ThrowIfCancellationRequested();
        logger.LogWarning("Exporting {Run} failed: {Reason}", runDirectory, outcome.Reason);
        return $"{ServerPaths.Redact(outcome.Reason, store.Root)} Try again; if it fails again, the run's checkpoint is damaged: launch the run again (Clone).";
    }

    /// <summary>The export folder as a zip (temporary file, then rename). The weight files are stored (they hardly
    /// compress: float32, and PyBridge deflates model.pt's entries already); model.json is deflated.</summary>
    private static void Build(string exportDirectory, string zip)
    {
        var temp = zip + ".tmp";
        using (var archive = ZipFile.Open(temp, ZipArchiveMode.Create))
        {
            foreach (var file in new[] { ModelExporter.ManifestFile, ModelExporter.PyTorchFile, ModelExporter.SafetensorsFile, ModelExporter.TorchSharpFile })
            {
                archive.CreateEntryFromFile(Path.Combine(exportDirectory, file), file,
                    file == ModelExporter.ManifestFile ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            }
        }
        File.Move(temp, zip, overwrite: true);
    }
}
