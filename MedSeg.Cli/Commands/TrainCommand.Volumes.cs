using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg train --data DIR</c> where DIR is a Decathlon / nnU-Net v2 folder (a dataset.json beside imagesTr/):
/// the training volumes are cut into 2D cases as the web upload cuts them (<c>--axis</c>, <c>--empty-slices</c>) into
/// <c>RUNDIR/slices/</c>, and split by whole volumes, so no volume has slices on both sides.</summary>
public sealed partial class TrainCommand
{
    /// <summary>A dataset folder the volume path reads: one with a dataset.json at its top.</summary>
    private static bool IsVolumeDataset(string data) => File.Exists(Path.Combine(data, VolumeDatasetScanner.DatasetJson));

    /// <summary>The slices as 2D pairs, with the volume of each (by pair name) and the channel count; problems are printed
    /// and give null.</summary>
    private static (ScanReport? Report, IReadOnlyDictionary<string, string> VolumeOf, int Channels) SliceVolumes(string data, string run,
        ParsedOptions options, TextWriter output, TextWriter error)
    {
        var (slicing, bad) = VolumeImportOptions.Parse(options.Get("axis"), options.Get("empty-slices"));
        if (slicing is null)
            throw new UsageException(string.Join(" ", bad.Select(p => $"--{(p.File == "emptySlices" ? "empty-slices" : p.File)}: {p.Problem}")));
        var scan = VolumeDatasetScanner.Scan(data);
        var problems = scan.Problems;
        VolumeImport? import = null;
        if (problems.Count == 0)
        {
            var folder = Path.Combine(run, "slices");
            import = VolumeImporter.Import(scan, data, slicing, Path.Combine(folder, "images"), Path.Combine(folder, "masks"));
            problems = import.Problems;
        }
        if (problems.Count > 0 || import is null)
        {
            foreach (var p in problems) error.WriteLine(p.File.Length > 0 ? $"{p.File}: {p.Problem}" : p.Problem);
            error.WriteLine($"medseg train: the dataset has {problems.Count} problem(s); fix them and run again.");
            return (null, new Dictionary<string, string>(), 0);
        }
        output.WriteLine($"{import.Volumes.Count} volumes ({scan.Format}, channels {string.Join(", ", scan.ChannelNames)}) cut into " +
            $"{import.Cases.Count} slices along {VolumeImportOptions.AxisName(slicing.Axis)} (empty slices: {slicing.EmptySlices.Text}) in {Path.Combine(run, "slices")}.");
        return (new ScanReport([.. import.Cases.Select(c => c.Pair)], [], import.Classes),
            import.Cases.ToDictionary(c => c.Pair.Name, c => c.GroupKey, StringComparer.Ordinal), scan.ChannelNames.Count);
    }

    /// <summary>The web's seeded split rule over whole volumes: a volume's slices all train or all validate.</summary>
    private static (IReadOnlyList<ScannedPair> Train, IReadOnlyList<ScannedPair> Validation) SplitByVolume(IReadOnlyList<ScannedPair> pairs,
        IReadOnlyDictionary<string, string> volumeOf, int seed, double fraction)
    {
        var groups = pairs.Select(p => volumeOf[p.Name]).Distinct(StringComparer.Ordinal).ToList();
        if (groups.Count < 2) throw new UsageException("--data: the slices come from one volume; a split by volume needs at least 2 volumes.");
        var (_, validation) = MedSeg.Engine.Training.DatasetSplit.Split(groups, seed, fraction);
        var validate = validation.ToHashSet(StringComparer.Ordinal);
        return ([.. pairs.Where(p => !validate.Contains(volumeOf[p.Name]))], [.. pairs.Where(p => validate.Contains(volumeOf[p.Name]))]);
    }
}
