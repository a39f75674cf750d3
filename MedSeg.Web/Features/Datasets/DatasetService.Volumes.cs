using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Features.Users;

namespace MedSeg.Web.Features.Datasets;

/// <summary>What <c>CommitAsync</c> needs beyond the pairs to commit a volume dataset: the description for SourceJson, each
/// slice's volume, index and spacing by case name, the staging folder of the kept volume files, and the channel count.</summary>
internal sealed record VolumeCommit(VolumeSource Source, IReadOnlyDictionary<string, SlicedCase> Slices, string KeptFolder, int Channels);

/// <summary>Upload of NIfTI volumes in the Decathlon / nnU-Net v2 layout (docs/datasets.md): scanned whole, sliced to 2D
/// cases, the originals kept under <c>volumes/</c>; committed like a 2D upload (all or nothing).</summary>
public sealed partial class DatasetService
{
    private async Task<IngestResult> IngestVolumesAsync(string name, string upload, string root, string staging, UserContext user,
        VolumeImportOptions options, CancellationToken ct)
    {
        // Problems name files as they are in the archive (Task04_Hippocampus/imagesTr/…), options by their form field.
        var prefix = Path.GetRelativePath(upload, root) is var top && top != "." ? top.Replace('\\', '/') + "/" : "";
        IReadOnlyList<DatasetProblem> InArchive(IEnumerable<DatasetProblem> problems) =>
            [.. problems.Select(p => p.File is "axis" or "emptySlices" ? p : p with { File = prefix + p.File })];

        var started = DateTime.UtcNow;
        var report = await Task.Run(() => VolumeDatasetScanner.Scan(root, VolumeLimits.Default, ct), ct);
        if (report.Problems.Count > 0) return new IngestResult(null, InArchive(report.Problems));
        var sliced = Path.Combine(staging, "sliced");
        var import = await Task.Run(() => VolumeImporter.Import(report, root, options, Path.Combine(sliced, "images"), Path.Combine(sliced, "masks"),
            VolumeLimits.Default, ct), ct);
        logger.LogInformation("Sliced volume upload '{Name}': {Volumes} volumes, {Slices} slices, {Problems} problems in {Seconds:F1} s",
            name, import.Volumes.Count, import.Cases.Count, import.Problems.Count, (DateTime.UtcNow - started).TotalSeconds);
        if (import.Problems.Count > 0) return new IngestResult(null, InArchive(import.Problems));
        if (import.Cases.GroupBy(c => c.Pair.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return new IngestResult(null, InArchive([new DatasetProblem(VolumeDatasetScanner.DatasetJson, $"two volumes give a slice named " +
                $"{twice.Key} (a case listed twice, or a case id that ends in _sNNN); list each case once, each with its own id.")]));
        }
        var classMap = ClassMap.Default(import.Classes, report.Classes);
        if (ClassMap.Check(classMap, import.Classes) is { } badMap)
            return new IngestResult(null, InArchive([new DatasetProblem(VolumeDatasetScanner.DatasetJson, $"labels: {badMap}")]));
        if (await quotas.CheckStorageAsync(user, ArtifactStore.SizeOf(upload) + ArtifactStore.SizeOf(sliced), ct) is { } overQuota)
            return new IngestResult(null, [], overQuota);

        // The uploaded files the dataset keeps (dataset.json, every training and test volume), with the upload's paths below
        // volumes/, for the export and for predictions written over their input's header.
        var kept = Path.Combine(staging, "kept");
        string Keep(string file)
        {
            var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            var target = Path.Combine(kept, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Move(file, target);
            return VolumeSource.Folder + "/" + relative;
        }
        Keep(Path.Combine(root, VolumeDatasetScanner.DatasetJson));
        var byId = report.Training.ToDictionary(c => c.Id, StringComparer.Ordinal);
        var volumes = import.Volumes.Select(v => new VolumeEntry(v.Id, [.. byId[v.Id].ChannelFiles.Select(Keep)], Keep(byId[v.Id].LabelFile!),
            v.Shape, v.Spacing, v.Orientation, VolumeImportOptions.AxisName(v.Axis), v.Slices, v.Kept)).ToList();
        var test = report.Test.Select(t => new VolumeTestEntry(t.Id, [.. t.ChannelFiles.Select(Keep)])).ToList();
        var first = report.Training[0].ChannelFiles[0];
        var source = new VolumeSource(report.Format, first.EndsWith(".nii.gz", StringComparison.Ordinal) ? ".nii.gz" : ".nii",
            VolumeImportOptions.AxisName(options.Axis), options.EmptySlices.Text,
            [.. import.Channels.Select(c => new VolumeChannel(c.Name, c.Min, c.Max))], import.CtChannels.Count > 0, import.CtChannels,
            report.Classes, volumes, test);

        var commit = new VolumeCommit(source, import.Cases.ToDictionary(c => c.Pair.Name, StringComparer.Ordinal), kept, report.ChannelNames.Count);
        return new IngestResult(await CommitAsync(name, [.. import.Cases.Select(c => c.Pair)], staging, user, ct, import.Classes, classMap, commit), []);
    }

    /// <summary>The folder of an unpacked upload that holds a volume dataset, or null when the upload holds no NIfTI file: the
    /// top, or the archive's one top folder (with its dataset.json; without one, the scanner says what is missing).</summary>
    private static string? VolumeDatasetRoot(string upload)
    {
        static bool IsNifti(string f) =>
            f.EndsWith(".nii", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase);
        if (!Directory.EnumerateFiles(upload, "*", SearchOption.AllDirectories).Any(IsNifti)) return null;
        if (File.Exists(Path.Combine(upload, VolumeDatasetScanner.DatasetJson))) return upload;
        return Directory.GetDirectories(upload) is [var only] && !Directory.EnumerateFiles(upload).Any() ? only : upload;
    }
}
