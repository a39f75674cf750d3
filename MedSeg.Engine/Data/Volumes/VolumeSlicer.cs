namespace MedSeg.Engine.Data.Volumes;

/// <summary>The size and spacing of the slices of a volume along one canonical axis.</summary>
public sealed record SliceGeometry(SliceAxis Axis, int Count, int Rows, int Columns, double RowSpacing, double ColumnSpacing);

/// <summary>
/// Cuts a volume into 2D slices, and stacks 2D label slices back into the volume's stored voxel order.
/// <para><b>Orientation.</b> The volume is first reoriented, without resampling, to the closest canonical RAS+ orientation
/// (<see cref="VolumeOrientation"/>: canonical axis 0 runs left → right, 1 posterior → anterior, 2 inferior → superior),
/// so the same anatomy gives the same slices however the scanner stored it (axes permuted or flipped). Axes are canonical:
/// <see cref="SliceAxis.Axial"/> is always axial.</para>
/// <para><b>Display convention</b> (neurological, as nibabel's canonical array shown with the first remaining axis across
/// and the second up): of the two canonical axes left in a slice, the lower one runs along the columns, increasing to
/// the right, and the higher one along the rows, increasing upwards (row 0 is its high end). So an axial slice has the
/// patient's left on the left and anterior at the top, a coronal slice left on the left and superior at the top, a
/// sagittal slice posterior on the left and superior at the top. Radiological viewers show axial and coronal slices
/// mirrored left–right; the pixels are the same.</para>
/// <para><b>Slicing rule.</b> <see cref="SliceAxis.Auto"/> is the canonical axis with the coarsest spacing (within
/// 1e-6 relative; ties → the last axis), so each slice keeps the finest in-plane resolution and an isotropic volume is
/// cut axially. Slice <c>Index</c> counts from the axis's low end (left, posterior, inferior).</para>
/// </summary>
public static class VolumeSlicer
{
    /// <summary>The canonical axis <paramref name="axis"/> stands for (<see cref="SliceAxis.Auto"/> resolved).</summary>
    public static SliceAxis Resolve(NiftiHeader header, SliceAxis axis)
    {
        if (axis != SliceAxis.Auto)
        {
            if (axis is < SliceAxis.Sagittal or > SliceAxis.Axial)
                throw new ArgumentOutOfRangeException(nameof(axis), axis, "the slice axis is 0, 1, 2 or Auto.");
            return axis;
        }
        var spacing = CanonicalSpacing(header);
        var best = 0;
        for (var c = 1; c < 3; c++)
            if (spacing[c] >= spacing[best] * (1 - 1e-6)) best = c;
        return (SliceAxis)best;
    }

    /// <summary>How many slices there are along <paramref name="axis"/>, their size and in-plane spacing (mm).</summary>
    public static SliceGeometry Geometry(NiftiHeader header, SliceAxis axis)
    {
        var a = (int)Resolve(header, axis);
        var (lo, hi) = Others(a);
        var size = CanonicalShape(header);
        var spacing = CanonicalSpacing(header);
        return new SliceGeometry((SliceAxis)a, size[a], Rows: size[hi], Columns: size[lo], RowSpacing: spacing[hi], ColumnSpacing: spacing[lo]);
    }

    /// <summary>Every slice along <paramref name="axis"/>, in canonical index order, with all channels interleaved.</summary>
    public static IReadOnlyList<VolumeSlice> Slice(NiftiVolume volume, SliceAxis axis, string caseId)
    {
        var g = Geometry(volume.Header, axis);
        var map = new Mapping(volume.Header, (int)g.Axis);
        var channels = volume.Channels;
        var channelStride = (long)volume.Shape.X * volume.Shape.Y * volume.Shape.Z;
        var deep = volume.Header.Datatype is not (NiftiDatatype.UInt8 or NiftiDatatype.Int8);
        var slices = new VolumeSlice[g.Count];
        for (var k = 0; k < g.Count; k++)
        {
            var pixels = new float[(long)g.Rows * g.Columns * channels];
            for (var r = 0; r < g.Rows; r++)
            for (var col = 0; col < g.Columns; col++)
            {
                var source = map.Offset(k, r, col);
                var target = ((long)r * g.Columns + col) * channels;
                for (var ch = 0; ch < channels; ch++) pixels[target + ch] = volume.Voxels[source + ch * channelStride];
            }
            slices[k] = new VolumeSlice(caseId, g.Axis, k, new Raster(g.Columns, g.Rows, channels, pixels, deep, lossy: false),
                g.RowSpacing, g.ColumnSpacing);
        }
        return slices;
    }

    /// <summary>
    /// The inverse of <see cref="Slice"/> for labels: <paramref name="slices"/> (one per canonical index along
    /// <paramref name="axis"/>, each rows × columns, row-major, in the display convention) stacked into the stored voxel
    /// order of <paramref name="like"/> (x fastest), ready for <see cref="NiftiWriter.WriteLabels"/>.
    /// </summary>
    public static short[] Unslice(NiftiHeader like, SliceAxis axis, IReadOnlyList<short[]> slices)
    {
        var g = Geometry(like, axis);
        if (slices.Count != g.Count)
            throw new ArgumentException($"{g.Count} slices are needed along the {g.Axis} axis, {slices.Count} were given.", nameof(slices));
        var map = new Mapping(like, (int)g.Axis);
        var labels = new short[(long)like.Shape.X * like.Shape.Y * like.Shape.Z];
        for (var k = 0; k < g.Count; k++)
        {
            var slice = slices[k];
            if (slice.Length != g.Rows * g.Columns)
                throw new ArgumentException($"slice {k} holds {slice.Length} labels; a {g.Axis} slice is {g.Rows} × {g.Columns}.", nameof(slices));
            for (var r = 0; r < g.Rows; r++)
            for (var col = 0; col < g.Columns; col++)
                labels[map.Offset(k, r, col)] = slice[r * g.Columns + col];
        }
        return labels;
    }

    /// <summary>Size of the volume along canonical axes 0, 1, 2.</summary>
    public static int[] CanonicalShape(NiftiHeader header)
    {
        int[] stored = [header.Shape.X, header.Shape.Y, header.Shape.Z];
        return [.. header.Orientation.SourceAxis.Select(s => stored[s])];
    }

    /// <summary>Spacing (mm) along canonical axes 0, 1, 2.</summary>
    public static double[] CanonicalSpacing(NiftiHeader header)
    {
        double[] stored = [header.Spacing.X, header.Spacing.Y, header.Spacing.Z];
        return [.. header.Orientation.SourceAxis.Select(s => stored[s])];
    }

    private static (int Lo, int Hi) Others(int axis) => axis switch { 0 => (1, 2), 1 => (0, 2), _ => (0, 1) };

    /// <summary>(slice k, row r, column c) → offset in the stored voxel array (first channel).</summary>
    private readonly struct Mapping
    {
        private readonly long origin, stepK, stepRow, stepCol;

        public Mapping(NiftiHeader header, int axis)
        {
            long[] stride = [1, header.Shape.X, (long)header.Shape.X * header.Shape.Y];
            int[] size = [header.Shape.X, header.Shape.Y, header.Shape.Z];
            var o = header.Orientation;
            // Canonical index i along canonical axis c is stored index i (or n − 1 − i when flipped) along SourceAxis[c].
            var start = new long[3];
            var step = new long[3];
            for (var c = 0; c < 3; c++)
            {
                var s = o.SourceAxis[c];
                (start[c], step[c]) = o.Flipped[c] ? ((size[s] - 1) * stride[s], -stride[s]) : (0, stride[s]);
            }
            var (lo, hi) = Others(axis);
            var rows = size[o.SourceAxis[hi]];
            // Row r is canonical index rows − 1 − r along hi.
            origin = start[0] + start[1] + start[2] + (rows - 1) * step[hi];
            (stepK, stepRow, stepCol) = (step[axis], -step[hi], step[lo]);
        }

        public long Offset(int k, int row, int col) => origin + k * stepK + row * stepRow + col * stepCol;
    }
}
