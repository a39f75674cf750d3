using System.Buffers.Binary;

namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// A NIfTI-1 header for a stack of 2D slices whose source volume is not at hand: <c>columns × rows × slices</c> (x, y, z),
/// voxel size from the slices' spacing, qform and sform both the scaling <c>diag(column, row, slice spacing)</c> in RAS+
/// (codes 1 = scanner, mm) with the origin at voxel 0. It carries no position or orientation of a patient: a viewer shows
/// the labels in the right size, not over the scan. Slice its volumes along <see cref="SliceAxis.Axial"/>.
/// </summary>
public static class SliceStackHeader
{
    public static NiftiHeader Create(int columns, int rows, int slices, double columnSpacing, double rowSpacing, double sliceSpacing)
    {
        if (columns < 1 || rows < 1 || slices < 1)
            throw new ArgumentException($"a stack of {slices} slices of {rows} × {columns} has no voxels.");
        var h = new byte[NiftiHeader.Nifti1Size + 4];
        var s = h.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(s, NiftiHeader.Nifti1Size);
        short[] dim = [3, (short)columns, (short)rows, (short)slices, 1, 1, 1, 1];
        if (columns > short.MaxValue || rows > short.MaxValue || slices > short.MaxValue)
            throw new ArgumentException($"{columns} × {rows} × {slices} does not fit a NIfTI-1 header.");
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteInt16LittleEndian(s[(40 + 2 * i)..], dim[i]);
        BinaryPrimitives.WriteInt16LittleEndian(s[70..], (short)NiftiDatatype.UInt8);
        BinaryPrimitives.WriteInt16LittleEndian(s[72..], 8);
        float[] pixdim = [1, (float)columnSpacing, (float)rowSpacing, (float)sliceSpacing, 1, 1, 1, 1];
        for (var i = 0; i < 8; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(76 + 4 * i)..], pixdim[i]);
        BinaryPrimitives.WriteSingleLittleEndian(s[108..], NiftiHeader.Nifti1Size + 4);
        BinaryPrimitives.WriteSingleLittleEndian(s[112..], 1);
        h[123] = 2; // mm
        BinaryPrimitives.WriteInt16LittleEndian(s[252..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(s[254..], 1);
        float[] srow = [(float)columnSpacing, 0, 0, 0, 0, (float)rowSpacing, 0, 0, 0, 0, (float)sliceSpacing, 0];
        for (var i = 0; i < 12; i++) BinaryPrimitives.WriteSingleLittleEndian(s[(280 + 4 * i)..], srow[i]);
        "n+1\0"u8.CopyTo(s[344..]);
        return NiftiHeader.Parse(s[..NiftiHeader.Nifti1Size], "(slice stack)");
    }
}
