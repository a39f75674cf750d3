using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// Reads a Medical Segmentation Decathlon (v1) or nnU-Net v2 dataset folder: <c>dataset.json</c>, <c>imagesTr/</c>,
/// <c>labelsTr/</c>, <c>imagesTs/</c>, and reports every case and every problem at once, each problem with its file
/// (relative to the root, forward slashes) and what to do, like <see cref="DatasetScanner"/>.
/// <list type="bullet">
/// <item>Decathlon v1: <c>{labels: {"0": "background", …}, modality: {"0": "MRI", …}, training: [{image, label}], test: […]}</c>.
/// Pairs come from <c>training</c> (paths like <c>./imagesTr/x.nii.gz</c>); a multi-modal image is one 4D file whose 4th
/// dimension is the channels, or, as nnU-Net v1 converted them, <c>x_0000.nii.gz</c>, <c>x_0001.nii.gz</c>, ….</item>
/// <item>nnU-Net v2: <c>{channel_names: {"0": "T2", …}, labels: {"background": 0, "x": 1, …}, file_ending: ".nii.gz",
/// numTraining}</c>; cases are paired by name: <c>imagesTr/ID_0000.nii.gz</c> … one file per channel, <c>labelsTr/ID.nii.gz</c>.</item>
/// </list>
/// Each case's channels must match each other and its label in shape and affine; labels must be integers listed in the
/// class map. Every file is read whole (within <see cref="VolumeLimits"/>), so a truncated or hostile file is a problem
/// here and not later.
/// </summary>
public static partial class VolumeDatasetScanner
{
    public const string DatasetJson = "dataset.json";

    public static VolumeDatasetReport Scan(string root, VolumeLimits? limits = null, CancellationToken ct = default)
    {
        limits ??= VolumeLimits.Default;
        root = Path.GetFullPath(root);
        var problems = new ConcurrentBag<DatasetProblem>();
        VolumeDatasetReport Fail(string file, string problem) =>
            new("", [], new Dictionary<int, string>(), [], [], [new DatasetProblem(file, problem)]);
        if (!Directory.Exists(root)) return Fail("", $"the dataset folder '{root}' does not exist.");
        var jsonPath = Path.Combine(root, DatasetJson);
        if (!File.Exists(jsonPath))
            return Fail(DatasetJson, "no dataset.json at the top of the dataset; a Decathlon or nnU-Net v2 dataset describes its labels " +
                "and channels there (see docs/datasets.md).");
        string Rel(string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

        JsonElement json;
        try
        {
            using var stream = File.OpenRead(jsonPath);
            if (stream.Length > 64L << 20) return Fail(DatasetJson, "dataset.json is larger than 64 MiB; it is not a dataset description.");
            using var doc = JsonDocument.Parse(stream);
            json = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Fail(DatasetJson, $"dataset.json is not valid JSON ({e.Message}); fix it.");
        }
        if (json.ValueKind != JsonValueKind.Object) return Fail(DatasetJson, "dataset.json must hold one JSON object.");

        var v2 = json.TryGetProperty("channel_names", out var channelsJson);
        if (!v2 && !json.TryGetProperty("modality", out channelsJson))
            return Fail(DatasetJson, "dataset.json has neither 'modality' (Decathlon) nor 'channel_names' (nnU-Net v2); name the image " +
                "channels, e.g. \"channel_names\": {\"0\": \"T2\"}.");
        var channelNames = ReadChannels(channelsJson, v2 ? "channel_names" : "modality", problems);
        var classes = ReadClasses(json, v2, problems);
        var ending = ".nii.gz";
        if (v2 && json.TryGetProperty("file_ending", out var endingJson))
        {
            ending = endingJson.ValueKind == JsonValueKind.String ? endingJson.GetString()! : "";
            if (ending is not (".nii.gz" or ".nii"))
            {
                problems.Add(new DatasetProblem(DatasetJson, $"file_ending is '{ending}'; MedSeg reads NIfTI volumes, \".nii.gz\" or \".nii\"."));
                return Report(v2, channelNames, classes, [], [], problems);
            }
        }
        if (channelNames.Count == 0 || classes.Count == 0) return Report(v2, channelNames, classes, [], [], problems);

        var layout = new Layout(root, ending, channelNames.Count, v2, Rel, problems);
        var training = json.TryGetProperty("training", out var trainingJson) && !v2
            ? layout.Listed(trainingJson)
            : layout.ByName("imagesTr", labelled: true);
        var test = json.TryGetProperty("test", out var testJson) && !v2 && testJson.ValueKind == JsonValueKind.Array && testJson.GetArrayLength() > 0
            ? layout.ListedTest(testJson)
            : Directory.Exists(Path.Combine(root, "imagesTs")) ? layout.ByName("imagesTs", labelled: false) : [];
        if (json.TryGetProperty("numTraining", out var numJson) && numJson.TryGetInt32(out var num) && num != training.Count)
            problems.Add(new DatasetProblem(DatasetJson, $"numTraining is {num} but {training.Count} training cases were found; " +
                "fix numTraining or add the missing cases."));

        var keys = classes.Keys.ToHashSet();
        var trained = Check(training, channelNames.Count, keys, limits, Rel, problems, ct);
        var tested = Check(test, channelNames.Count, keys, limits, Rel, problems, ct);
        if (training.Count == 0)
            problems.Add(new DatasetProblem("imagesTr/", "the dataset has no training cases: put the images in imagesTr/ and their labels, " +
                "with the same names, in labelsTr/."));
        return Report(v2, channelNames, classes, trained, tested, problems);
    }

    private static VolumeDatasetReport Report(bool v2, IReadOnlyList<string> channels, IReadOnlyDictionary<int, string> classes,
        IReadOnlyList<VolumeCase> training, IReadOnlyList<VolumeCase> test, ConcurrentBag<DatasetProblem> problems) =>
        new(v2 ? "nnunetv2" : "msd", channels, classes, training, test,
            [.. problems.OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Problem, StringComparer.Ordinal)]);

    private static List<string> ReadChannels(JsonElement channels, string field, ConcurrentBag<DatasetProblem> problems)
    {
        var byIndex = new SortedDictionary<int, string>();
        if (channels.ValueKind == JsonValueKind.Object)
            foreach (var p in channels.EnumerateObject())
                if (int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && p.Value.ValueKind == JsonValueKind.String)
                    byIndex[i] = p.Value.GetString()!;
                else
                {
                    problems.Add(new DatasetProblem(DatasetJson, $"{field} entry \"{p.Name}\" is not a channel number with a name, as in {{\"0\": \"T2\"}}."));
                    return [];
                }
        if (byIndex.Count == 0 || !byIndex.Keys.SequenceEqual(Enumerable.Range(0, byIndex.Count)))
        {
            problems.Add(new DatasetProblem(DatasetJson, $"{field} must name the channels 0, 1, … without gaps, as in {{\"0\": \"T2\"}}."));
            return [];
        }
        return [.. byIndex.Values];
    }

    private static SortedDictionary<int, string> ReadClasses(JsonElement json, bool v2, ConcurrentBag<DatasetProblem> problems)
    {
        var classes = new SortedDictionary<int, string>();
        if (!json.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
        {
            problems.Add(new DatasetProblem(DatasetJson, v2
                ? "dataset.json has no 'labels' object; map each class name to its value, as in {\"background\": 0, \"tumour\": 1}."
                : "dataset.json has no 'labels' object; map each value to its class name, as in {\"0\": \"background\", \"1\": \"tumour\"}."));
            return classes;
        }
        foreach (var p in labels.EnumerateObject())
        {
            int value;
            string name;
            if (v2)
            {
                if (p.Value.ValueKind == JsonValueKind.Array)
                {
                    problems.Add(new DatasetProblem(DatasetJson, $"label \"{p.Name}\" is a region (a list of values); MedSeg trains one class per " +
                        "value: give each class one value."));
                    continue;
                }
                if (!p.Value.TryGetInt32(out value))
                {
                    problems.Add(new DatasetProblem(DatasetJson, $"label \"{p.Name}\" has the value {p.Value.GetRawText()}, not an integer."));
                    continue;
                }
                name = p.Name;
            }
            else
            {
                if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out value) || p.Value.ValueKind != JsonValueKind.String)
                {
                    problems.Add(new DatasetProblem(DatasetJson, $"labels entry \"{p.Name}\" is not a value with a class name, as in {{\"1\": \"tumour\"}}."));
                    continue;
                }
                name = p.Value.GetString()!;
            }
            if (!classes.TryAdd(value, name))
                problems.Add(new DatasetProblem(DatasetJson, $"label value {value} is given to both '{classes[value]}' and '{name}'."));
        }
        if (classes.Count > 0 && !classes.ContainsKey(0))
            problems.Add(new DatasetProblem(DatasetJson, "the labels have no value 0; background must be label 0."));
        if (classes.Keys.Any(k => k is < 0 or > short.MaxValue))
            problems.Add(new DatasetProblem(DatasetJson, $"label values must lie in 0 … {short.MaxValue}."));
        return classes;
    }

    /// <summary>A case as found in the folders, before its files are read. <paramref name="SingleFile"/>: one file holds every
    /// channel (3D for one channel, 4D with the channels along dim[4] for several, as in the Decathlon).</summary>
    private sealed record Found(string Id, IReadOnlyList<string> Channels, string? Label, bool SingleFile);

    private sealed partial class Layout(string root, string ending, int channels, bool v2, Func<string, string> rel,
        ConcurrentBag<DatasetProblem> problems)
    {
        [GeneratedRegex(@"^(?<id>.+)_(?<ch>\d{4})$")]
        private static partial Regex ChannelSuffix();

        private string Channel(string folder, string id, int ch) => Path.Combine(root, folder, $"{id}_{ch:D4}{ending}");

        /// <summary>Decathlon v1: the training list's pairs.</summary>
        public List<Found> Listed(JsonElement training)
        {
            var cases = new List<Found>();
            if (training.ValueKind != JsonValueKind.Array)
            {
                problems.Add(new DatasetProblem(DatasetJson, "'training' must be a list of {\"image\": …, \"label\": …}."));
                return cases;
            }
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in training.EnumerateArray())
            {
                string? Field(string name) => entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty(name, out var v) &&
                                              v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var (image, label) = (Field("image"), Field("label"));
                if (image is null || label is null || Resolve(image) is not { } imagePath || Resolve(label) is not { } labelPath)
                {
                    problems.Add(new DatasetProblem(DatasetJson, $"training entry {entry.GetRawText()} is not {{\"image\": \"./imagesTr/….nii.gz\", " +
                        "\"label\": \"./labelsTr/….nii.gz\"} inside the dataset folder."));
                    continue;
                }
                var found = Image(imagePath, image);
                if (found is null) continue;
                listed.UnionWith(found.Channels);
                listed.Add(labelPath);
                if (!File.Exists(labelPath))
                {
                    problems.Add(new DatasetProblem(rel(labelPath), $"the label of {found.Id}, listed in dataset.json, is missing; add it or remove the case from 'training'."));
                    continue;
                }
                cases.Add(found with { Label = labelPath });
            }
            foreach (var folder in new[] { "imagesTr", "labelsTr" })
                foreach (var file in Volumes(folder).Where(f => !listed.Contains(f)))
                    problems.Add(new DatasetProblem(rel(file), "the file is not listed in dataset.json's 'training'; list it or remove it."));
            return cases;
        }

        public List<Found> ListedTest(JsonElement test)
        {
            var cases = new List<Found>();
            foreach (var entry in test.EnumerateArray())
            {
                var image = entry.ValueKind == JsonValueKind.String ? entry.GetString() : null;
                if (image is null || Resolve(image) is not { } path)
                {
                    problems.Add(new DatasetProblem(DatasetJson, $"test entry {entry.GetRawText()} is not a path like \"./imagesTs/….nii.gz\"."));
                    continue;
                }
                if (Image(path, image) is { } found) cases.Add(found);
            }
            return cases;
        }

        /// <summary>A listed image: the file itself (3D, or 4D with the channels), or nnU-Net v1's <c>_0000</c> … files.</summary>
        private Found? Image(string path, string listedAs)
        {
            var name = Path.GetFileName(path);
            var id = name.EndsWith(ending, StringComparison.Ordinal) ? name[..^ending.Length] : Path.GetFileNameWithoutExtension(name);
            if (File.Exists(path)) return new Found(id, [path], null, SingleFile: true);
            var folder = Path.GetRelativePath(root, Path.GetDirectoryName(path)!);
            if (File.Exists(Channel(folder, id, 0)))
                return Channels(folder, id, Enumerable.Range(0, channels).Where(c => File.Exists(Channel(folder, id, c))).ToList());
            problems.Add(new DatasetProblem(rel(path), $"the image {listedAs}, listed in dataset.json, is missing; add it or remove the case."));
            return null;
        }

        /// <summary>nnU-Net v2 (or a Decathlon folder without a training list): cases by name.</summary>
        public List<Found> ByName(string folder, bool labelled)
        {
            var byId = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
            foreach (var file in Volumes(folder))
            {
                var stem = Path.GetFileName(file)[..^ending.Length];
                var m = ChannelSuffix().Match(stem);
                if (!m.Success && v2)
                {
                    problems.Add(new DatasetProblem(rel(file), $"the image has no channel suffix; name it {stem}_0000{ending} (and {stem}_0001{ending}, … " +
                        "for further channels)."));
                    continue;
                }
                var (id, ch) = m.Success ? (m.Groups["id"].Value, int.Parse(m.Groups["ch"].Value, CultureInfo.InvariantCulture)) : (stem, -1);
                if (!byId.TryGetValue(id, out var list)) byId[id] = list = [];
                list.Add(ch);
            }
            var cases = new List<Found>();
            foreach (var (id, list) in byId)
            {
                var found = list.Contains(-1)
                    ? list.Count == 1 ? new Found(id, [Path.Combine(root, folder, id + ending)], null, SingleFile: true) : null
                    : Channels(folder, id, list);
                if (found is null)
                {
                    problems.Add(new DatasetProblem(rel(Path.Combine(root, folder, id + ending)),
                        $"case {id} has both this file and channel files {id}_NNNN{ending}; keep one form."));
                    continue;
                }
                if (found.Channels.Count == 0) continue;
                if (labelled)
                {
                    var label = Path.Combine(root, "labelsTr", id + ending);
                    if (!File.Exists(label))
                    {
                        problems.Add(new DatasetProblem(rel(found.Channels[0]), $"no label labelsTr/{id}{ending} for case {id}; add it or remove the case's images."));
                        continue;
                    }
                    found = found with { Label = label };
                }
                cases.Add(found);
            }
            if (labelled)
                foreach (var label in Volumes("labelsTr"))
                {
                    var id = Path.GetFileName(label)[..^ending.Length];
                    if (!byId.ContainsKey(id))
                        problems.Add(new DatasetProblem(rel(label), $"no image in imagesTr/ for this label (expected {id}_0000{ending}); add it or remove the label."));
                }
            return cases;
        }

        /// <summary>Channel files 0 … C − 1 of a case; a missing or extra channel is a problem (and the case is left out).</summary>
        private Found Channels(string folder, string id, IReadOnlyCollection<int> present)
        {
            var missing = Enumerable.Range(0, channels).Where(c => !present.Contains(c)).ToList();
            var extra = present.Where(c => c >= channels).Order().ToList();
            foreach (var c in missing)
                problems.Add(new DatasetProblem(rel(Channel(folder, id, c)), $"channel {c} of case {id} is missing (dataset.json names {channels} " +
                    $"channel{(channels > 1 ? "s" : "")}); add {id}_{c:D4}{ending} or remove the case's other files."));
            foreach (var c in extra)
                problems.Add(new DatasetProblem(rel(Channel(folder, id, c)), $"channel {c} of case {id} is beyond the {channels} channel" +
                    $"{(channels > 1 ? "s" : "")} dataset.json names; add the channel to dataset.json or remove the file."));
            if (missing.Count > 0 || extra.Count > 0) return new Found(id, [], null, false);
            return new Found(id, [.. Enumerable.Range(0, channels).Select(c => Channel(folder, id, c))], null, SingleFile: false);
        }

        private string? Resolve(string listed)
        {
            var full = Path.GetFullPath(Path.Combine(root, listed));
            return full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? full : null;
        }

        private IEnumerable<string> Volumes(string folder)
        {
            var dir = Path.Combine(root, folder);
            if (!Directory.Exists(dir)) return [];
            return Directory.EnumerateFiles(dir)
                .Where(f => !Path.GetFileName(f).StartsWith('.') && f.EndsWith(ending, StringComparison.Ordinal)
                            && !(ending == ".nii" && f.EndsWith(".nii.gz", StringComparison.Ordinal)))
                .Order(StringComparer.Ordinal);
        }
    }

    private static List<VolumeCase> Check(IReadOnlyList<Found> cases, int channelCount, IReadOnlySet<int> classes, VolumeLimits limits,
        Func<string, string> rel, ConcurrentBag<DatasetProblem> problems, CancellationToken ct)
    {
        var checkedCases = new VolumeCase?[cases.Count];
        Parallel.For(0, cases.Count, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => checkedCases[i] = CheckCase(cases[i], channelCount, classes, limits, rel, problems));
        ct.ThrowIfCancellationRequested();
        return [.. checkedCases.Where(c => c is not null).Select(c => c!)];
    }

    private static VolumeCase? CheckCase(Found found, int channelCount, IReadOnlySet<int> classes, VolumeLimits limits, Func<string, string> rel,
        ConcurrentBag<DatasetProblem> problems)
    {
        var headers = new List<NiftiHeader>();
        foreach (var file in found.Channels)
        {
            var volume = Load(file, limits, rel, problems);
            if (volume is null) return null;
            headers.Add(volume.Header);
        }
        var first = headers[0];
        if (found.SingleFile && first.Channels != channelCount)
        {
            problems.Add(new DatasetProblem(rel(found.Channels[0]), channelCount == 1
                ? $"the image is 4D ({first.Channels} volumes along dim[4]) but dataset.json names one channel; store a 3D volume, or name every channel."
                : $"the image holds {first.Channels} channel{(first.Channels > 1 ? "s" : "")} along dim[4] but dataset.json names {channelCount}; " +
                  "store the case's channels as one 4D volume, or as one file per channel (_0000, _0001, …)."));
            return null;
        }
        for (var i = 0; i < headers.Count; i++)
        {
            var h = headers[i];
            if (!found.SingleFile && h.Channels != 1)
            {
                problems.Add(new DatasetProblem(rel(found.Channels[i]), $"the image is 4D ({h.Channels} volumes along dim[4]) but holds one channel " +
                    "of its case; store one 3D volume per channel file."));
                return null;
            }
            if (i > 0 && !SameGeometry(first, h, out var why))
            {
                problems.Add(new DatasetProblem(rel(found.Channels[i]), $"the channel's {why} differs from {rel(found.Channels[0])}'s; all " +
                    "channels of a case must be on the same voxel grid (resample them together)."));
                return null;
            }
        }
        var labels = new List<int>();
        if (found.Label is { } labelFile)
        {
            var label = Load(labelFile, limits, rel, problems);
            if (label is null) return null;
            if (label.Channels != 1)
            {
                problems.Add(new DatasetProblem(rel(labelFile), $"the label volume is 4D ({label.Channels} volumes); a label is one 3D volume of class values."));
                return null;
            }
            if (!SameGeometry(first, label.Header, out var why))
            {
                problems.Add(new DatasetProblem(rel(labelFile), $"the label's {why} differs from its image {rel(found.Channels[0])}'s; a label must " +
                    "be on its image's voxel grid (same shape and affine)."));
                return null;
            }
            var (present, problem) = LabelsOf(label.Voxels, classes);
            if (problem is not null)
            {
                problems.Add(new DatasetProblem(rel(labelFile), problem));
                return null;
            }
            labels = present;
        }
        return new VolumeCase(found.Id, found.Channels, found.Label, first.Shape, first.Spacing, channelCount, labels);
    }

    /// <summary>The labels that occur, or what is wrong: a value that is not an integer, or one the class map does not list.</summary>
    private static (List<int> Present, string? Problem) LabelsOf(float[] voxels, IReadOnlySet<int> classes)
    {
        var seen = new HashSet<int>();
        var last = float.NaN;
        foreach (var v in voxels)
        {
            if (v.Equals(last)) continue;
            last = v;
            if (!float.IsFinite(v) || v != MathF.Round(v))
                return ([], $"the label volume holds {v.ToString(CultureInfo.InvariantCulture)}, not an integer class value; labels must be whole " +
                    "numbers (save the label volume as an integer type, without interpolation).");
            if (v is < int.MinValue or > int.MaxValue || !classes.Contains((int)v))
                return ([], $"the label volume holds {v.ToString(CultureInfo.InvariantCulture)}, a value dataset.json's labels do not list " +
                    $"({string.Join(", ", classes.Order())}); add the class to dataset.json or fix the label.");
            seen.Add((int)v);
        }
        return ([.. seen.Order()], null);
    }

    /// <summary>Same shape and affine within 0.1 % of each entry (at least 0.001: NIfTI-1 stores them as float32).</summary>
    private static bool SameGeometry(NiftiHeader a, NiftiHeader b, out string why)
    {
        why = "";
        if (a.Shape != b.Shape)
        {
            why = $"shape {b.Shape.X} × {b.Shape.Y} × {b.Shape.Z} (not {a.Shape.X} × {a.Shape.Y} × {a.Shape.Z})";
            return false;
        }
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < 4; c++)
        {
            var (x, y) = (a.Affine[r, c], b.Affine[r, c]);
            if (Math.Abs(x - y) > 1e-3 * Math.Max(1, Math.Max(Math.Abs(x), Math.Abs(y))))
            {
                why = $"affine ({b.AffineSource}: entry [{r},{c}] is {NiftiHeader.Num(y)}, not {NiftiHeader.Num(x)})";
                return false;
            }
        }
        return true;
    }

    private static NiftiVolume? Load(string path, VolumeLimits limits, Func<string, string> rel, ConcurrentBag<DatasetProblem> problems)
    {
        try
        {
            return NiftiVolume.Read(path, limits, rel(path));
        }
        catch (VolumeRefusedException e)
        {
            problems.Add(new DatasetProblem(e.File, e.Problem));
        }
        catch (IOException e)
        {
            problems.Add(new DatasetProblem(rel(path), $"unreadable: {e.Message}"));
        }
        catch (UnauthorizedAccessException e)
        {
            problems.Add(new DatasetProblem(rel(path), $"unreadable: {e.Message}"));
        }
        return null;
    }
}
