namespace MedSeg.Engine.Data.Volumes;

/// <summary>NIfTI voxel data types MedSeg reads (the NIfTI <c>datatype</c> codes). Complex, RGB, RGBA, binary and
/// float128 are refused by name.</summary>
public enum NiftiDatatype : short
{
    UInt8 = 2,
    Int16 = 4,
    Int32 = 8,
    Float32 = 16,
    Float64 = 64,
    Int8 = 256,
    UInt16 = 512,
    UInt32 = 768,
    Int64 = 1024,
    UInt64 = 1280,
}

/// <summary>
/// Hard limits on a volume file from outside, checked from its header before the voxels are allocated (the twin of
/// <see cref="ImageLimits"/> for volumes). MedSeg holds a volume as float voxels, 4 bytes each, and reads the file's data
/// in fixed-size chunks, so the voxel array is the only allocation that grows with the file.
/// </summary>
public sealed record VolumeLimits(long MaxVoxels)
{
    /// <summary>512 × 512 × 512 voxels (a large CT), 512 MiB as floats; channels count (a 4-channel MRI of 256³ fits).</summary>
    public const long DefaultMaxVoxels = 512L * 512 * 512;

    public static VolumeLimits Default { get; } = new(DefaultMaxVoxels);

    /// <summary>No voxel bound (files already checked when they entered); the data is still bounded by the header.</summary>
    public static VolumeLimits None { get; } = new(Array.MaxLength);
}

/// <summary>A volume file that cannot be read: corrupt, truncated, hostile, over a limit or of a kind MedSeg does not read.
/// <see cref="File"/> is the file's name as given (a dataset reader makes it relative), <see cref="Problem"/> says what is
/// wrong and what to do; the message is both. An <see cref="IOException"/> like <see cref="ImageRefusedException"/>, so every
/// caller that handles unreadable files handles it too.</summary>
public sealed class VolumeRefusedException(string file, string problem) : IOException($"{file}: {problem}")
{
    public string File { get; } = file;
    public string Problem { get; } = problem;
}

/// <summary>The three canonical axes of a volume reoriented to RAS+ (see <see cref="VolumeSlicer"/>), or <see cref="Auto"/>:
/// the axis with the coarsest spacing (ties → the last one), so that slices keep the finest in-plane resolution.</summary>
public enum SliceAxis
{
    Auto = -1,
    /// <summary>Canonical axis 0 (left → right) is fixed: sagittal slices.</summary>
    Sagittal = 0,
    /// <summary>Canonical axis 1 (posterior → anterior) is fixed: coronal slices.</summary>
    Coronal = 1,
    /// <summary>Canonical axis 2 (inferior → superior) is fixed: axial slices.</summary>
    Axial = 2,
}

/// <summary>One 2D slice of a volume in canonical orientation (<see cref="VolumeSlicer"/> gives the display convention).
/// <see cref="Image"/> is interleaved (rows, columns, channels) like every decoded image; <paramref name="Index"/> counts
/// along the canonical axis from its low end (left, posterior or inferior). Spacings are in mm.</summary>
public sealed record VolumeSlice(string CaseId, SliceAxis Axis, int Index, Raster Image, double RowSpacing, double ColumnSpacing);

/// <summary>One case of a volume dataset: its channel files in channel order (one 4D file for a Decathlon v1 multi-channel
/// image), its label file (null in a test set), the spatial shape and spacing (mm) of the stored volume, the number of
/// channels and the labels that occur in its label volume (background included).</summary>
public sealed record VolumeCase(string Id, IReadOnlyList<string> ChannelFiles, string? LabelFile, (int X, int Y, int Z) Shape,
    (double X, double Y, double Z) Spacing, int Channels, IReadOnlyList<int> Labels);

/// <param name="Format">"msd" (Decathlon v1 <c>dataset.json</c>) or "nnunetv2".</param>
/// <param name="ChannelNames">Channel index → name (<c>modality</c> or <c>channel_names</c>).</param>
/// <param name="Classes">Label value → class name, background (0) included.</param>
public sealed record VolumeDatasetReport(string Format, IReadOnlyList<string> ChannelNames, IReadOnlyDictionary<int, string> Classes,
    IReadOnlyList<VolumeCase> Training, IReadOnlyList<VolumeCase> Test, IReadOnlyList<DatasetProblem> Problems)
{
    public bool IsValid => Problems.Count == 0 && Training.Count > 0;
}
