using System.IO.Compression;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Metrics;
using MedSeg.Web.Features.Sharing;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Experiments;

/// <summary>
/// The review of a volume dataset's experiment: the validation volumes scored whole (the final evaluation's
/// <c>predictions/volumes.json</c>), worst first, and their predicted masks as NIfTI, one <c>case.nii.gz</c> per volume
/// over the original volume's header (kept by the import under the dataset's <c>volumes/</c>).
/// </summary>
public sealed class VolumeReviewService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, ILogger<VolumeReviewService> logger)
{
    public const string MasksZip = "volume-masks.zip";
    /// <summary>In the archive when some volume had no original: what its header is.</summary>
    public const string NoteFile = "README.txt";

    /// <summary>The evaluated volumes, lowest mean Dice first; empty when the experiment has none (2D, or not evaluated);
    /// null when it is not visible to the user.</summary>
    public async Task<IReadOnlyList<VolumeResult>?> GetVolumesAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (!await Access.Experiments(db, user).AnyAsync(e => e.Id == id, ct)) return null;
        return WorstFirst(VolumeReport.Read(Evaluation(id)) ?? []);
    }

    public static IReadOnlyList<VolumeResult> WorstFirst(IEnumerable<VolumeResult> volumes) =>
        [.. volumes.OrderBy(v => v.Dice.Count == 0 ? 0 : v.Dice.Average()).ThenBy(v => v.Volume, StringComparer.Ordinal)];

    public static string MasksUrl(Guid id) => $"/api/experiments/{id}/{MasksZip}";

    /// <summary><see cref="MasksZipAsync"/>'s answer for a visible experiment without evaluated volumes.</summary>
    public const string NoVolumes = "";

    /// <summary>The archive of the validation volumes' predicted masks (built once per evaluation); null when the experiment
    /// is not visible; <see cref="NoVolumes"/> when it has no evaluated volume.</summary>
    public async Task<string?> MasksZipAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var experiment = await Access.Experiments(db, user).AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct);
        if (experiment is null) return null;
        var report = Path.Combine(Evaluation(id), VolumeReport.FileName);
        if (!File.Exists(report)) return NoVolumes;
        var zip = Path.Combine(Evaluation(id), MasksZip);
        if (File.Exists(zip) && File.GetLastWriteTimeUtc(zip) >= File.GetLastWriteTimeUtc(report)) return zip;
        var source = await db.Datasets.Where(d => d.Id == experiment.DatasetId).Select(d => d.SourceJson).FirstOrDefaultAsync(ct);
        var cases = await db.ExperimentCases.AsNoTracking().Include(c => c.DatasetCase)
            .Where(c => c.ExperimentId == id && c.Split == CaseSplit.Validation && c.DatasetCase!.SliceIndex != null && c.PredictionPath != null)
            .ToListAsync(ct);
        await Task.Run(() => Build(zip, store.ExperimentDirectory(id), store.DatasetDirectory(experiment.DatasetId), VolumeOriginals.Axis(source), cases), ct);
        return zip;
    }

    private string Evaluation(Guid id) => Path.Combine(store.ExperimentDirectory(id), "predictions");

    /// <summary>One <c>case.nii.gz</c> per volume: the predicted slices (PNG, 0/255 or labels) stacked over the original's
    /// header along the dataset's axis; slices without a prediction (dropped at import, or not validation) are background.
    /// Without the original the header is <see cref="SliceStackHeader"/>'s, from the slices' spacing, and README.txt says so.</summary>
    private void Build(string zip, string runDirectory, string datasetFolder, SliceAxis axis, IReadOnlyList<ExperimentCase> cases)
    {
        var notes = new List<string>();
        var temp = zip + ".tmp";
        using (var archive = ZipFile.Open(temp, ZipArchiveMode.Create))
        {
            foreach (var volume in cases.GroupBy(c => c.DatasetCase!.GroupKey ?? c.DatasetCase!.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var slices = volume.ToDictionary(c => c.DatasetCase!.SliceIndex!.Value,
                    c => MaskReader.ReadLabels(ArtifactStore.Resolve(runDirectory, c.PredictionPath!)));
                var first = slices.Values.First();
                var header = VolumeOriginals.Header(datasetFolder, volume.Key);
                var sliceAxis = axis;
                if (header is not null && VolumeSlicer.Geometry(header, axis) is var g && (g.Columns != first.Width || g.Rows != first.Height || slices.Keys.Max() >= g.Count))
                {
                    logger.LogWarning("Volume {Volume}: the original under volumes/ is {Columns}×{Rows}×{Count} along {Axis}, its slices {Width}×{Height}; using a header from the slices",
                        volume.Key, g.Columns, g.Rows, g.Count, g.Axis, first.Width, first.Height);
                    header = null;
                }
                if (header is null)
                {
                    var c = volume.First().DatasetCase!;
                    var sliceSpacing = 1.0;
                    header = SliceStackHeader.Create(first.Width, first.Height, slices.Keys.Max() + 1, c.SpacingX ?? 1, c.SpacingY ?? 1, sliceSpacing);
                    sliceAxis = SliceAxis.Axial;
                    notes.Add($"{volume.Key}.nii.gz: the original volume was not found under the dataset's volumes/ folder, so its header " +
                        $"is built from the slices: {first.Width} × {first.Height} × {slices.Keys.Max() + 1}, spacing {c.SpacingX ?? 1} × {c.SpacingY ?? 1} × " +
                        $"{sliceSpacing} mm (the slice spacing is not known), no position or orientation: it does not overlay the scan in a viewer.");
                }
                var geometry = VolumeSlicer.Geometry(header, sliceAxis);
                var labels = Enumerable.Range(0, geometry.Count).Select(k => slices.TryGetValue(k, out var m)
                    ? m.Pixels.Select(p => (short)p).ToArray() // ReadLabels: binary 0/1, label maps as labels
                    : new short[geometry.Rows * geometry.Columns]).ToList();
                var file = Path.Combine(Path.GetDirectoryName(zip)!, volume.Key + ".nii.gz.tmp");
                NiftiWriter.WriteLabelSlices(file, header, sliceAxis, labels);
                archive.CreateEntryFromFile(file, volume.Key + ".nii.gz", CompressionLevel.NoCompression);
                File.Delete(file);
            }
            if (notes.Count > 0)
            {
                using var writer = new StreamWriter(archive.CreateEntry(NoteFile).Open());
                foreach (var note in notes) writer.WriteLine(note);
            }
        }
        File.Move(temp, zip, overwrite: true);
    }
}
