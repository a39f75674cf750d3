using System.Text.Json;

namespace MedSeg.Web.Features.Datasets;

/// <summary>One training volume of a volume dataset: its kept files (relative to the dataset folder, under <c>volumes/</c>),
/// stored shape and spacing (mm), orientation code, the canonical axis it was cut along, its slices and how many were kept.</summary>
public sealed record VolumeEntry(string Id, IReadOnlyList<string> Images, string Label, int[] Shape, double[] Spacing, string Orientation,
    string Axis, int Slices, int Kept);

/// <summary>A test image (no label) kept with the dataset.</summary>
public sealed record VolumeTestEntry(string Id, IReadOnlyList<string> Images);

/// <summary>One channel's name and the range of its values over the training volumes, as stored.</summary>
public sealed record VolumeChannel(string Name, float Min, float Max);

/// <summary>
/// How a volume dataset was imported (<see cref="MedSeg.Data.Entities.Dataset.SourceJson"/>; read and written only here):
/// the layout (<c>msd</c> or <c>nnunetv2</c>) and file ending, the axis asked for (auto, axial, coronal, sagittal; each volume
/// records the one it was cut along), the empty-slice rule (keep, drop, every-N), the channels, whether the images look like
/// CT (<see cref="Ct"/>: a channel named CT with values within about −1024 … 3071; the launch form offers CT windowing), the
/// class names of dataset.json, and every volume.
/// </summary>
public sealed record VolumeSource(string Format, string FileEnding, string Axis, string EmptySlices, IReadOnlyList<VolumeChannel> Channels,
    bool Ct, IReadOnlyList<int> CtChannels, IReadOnlyDictionary<int, string> Labels, IReadOnlyList<VolumeEntry> Volumes,
    IReadOnlyList<VolumeTestEntry> Test)
{
    public const string SourceName = "volumes";
    /// <summary>The folder of the dataset that holds the uploaded volume files, with the upload's paths below it.</summary>
    public const string Folder = "volumes";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    /// <summary>The stored description, or null (a 2D dataset, or unreadable).</summary>
    public static VolumeSource? Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try
        {
            return JsonSerializer.Deserialize<VolumeSource>(json, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public VolumeSourceSummary Summary() => new(Format, Axis, [.. Volumes.Select(v => v.Axis).Distinct().Order(StringComparer.Ordinal)],
        EmptySlices, Volumes.Count, Test.Count, [.. Channels.Select(c => c.Name)], Ct);
}

/// <summary>What the dataset page and <c>GET /api/datasets/{id}</c> show of a volume dataset: <see cref="Axes"/> are the
/// canonical axes the volumes were cut along (one, unless <c>auto</c> chose differently per volume).</summary>
public sealed record VolumeSourceSummary(string Format, string Axis, IReadOnlyList<string> Axes, string EmptySlices, int Volumes, int TestVolumes,
    IReadOnlyList<string> ChannelNames, bool Ct);
