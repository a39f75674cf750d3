namespace MedSeg.Engine.Data.Volumes;

/// <summary>
/// How a volume's stored axes map onto the closest canonical RAS+ axes (0: left → right, 1: posterior → anterior,
/// 2: inferior → superior). Canonical axis <c>c</c> is stored axis <see cref="SourceAxis"/>[c], reversed when
/// <see cref="Flipped"/>[c]. <see cref="Codes"/> are the stored axes' directions in nibabel's notation (<c>"RAS"</c>,
/// <c>"LPS"</c>, <c>"PIR"</c>, …: the world direction each stored axis increases towards).
/// </summary>
public sealed record VolumeOrientation(IReadOnlyList<int> SourceAxis, IReadOnlyList<bool> Flipped, string Codes)
{
    /// <summary>
    /// From a voxel → world affine: each stored axis's direction (a column of the 3 × 3 part, normalised) is matched to the
    /// world axis it points along most, greedily by the largest component first, as nibabel's <c>io_orientation</c> does
    /// (for an oblique volume this is the closest canonical orientation; nothing is resampled). Null when the affine is
    /// singular.
    /// </summary>
    public static VolumeOrientation? FromAffine(double[,] affine)
    {
        var m = new double[3, 3];
        for (var col = 0; col < 3; col++)
        {
            var norm = Math.Sqrt(affine[0, col] * affine[0, col] + affine[1, col] * affine[1, col] + affine[2, col] * affine[2, col]);
            if (!(norm > 0)) return null;
            for (var row = 0; row < 3; row++) m[row, col] = affine[row, col] / norm;
        }
        var det = m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
                  + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]);
        if (Math.Abs(det) < 1e-6) return null;

        var source = new int[3];
        var flipped = new bool[3];
        var codes = new char[3];
        var (usedRows, usedCols) = (new bool[3], new bool[3]);
        for (var step = 0; step < 3; step++)
        {
            var (bestRow, bestCol, best) = (-1, -1, -1.0);
            for (var row = 0; row < 3; row++)
            for (var col = 0; col < 3; col++)
                if (!usedRows[row] && !usedCols[col] && Math.Abs(m[row, col]) > best)
                    (bestRow, bestCol, best) = (row, col, Math.Abs(m[row, col]));
            (usedRows[bestRow], usedCols[bestCol]) = (true, true);
            source[bestRow] = bestCol;
            flipped[bestRow] = m[bestRow, bestCol] < 0;
            codes[bestCol] = (bestRow, flipped[bestRow]) switch
            {
                (0, false) => 'R', (0, true) => 'L', (1, false) => 'A', (1, true) => 'P', (2, false) => 'S', _ => 'I',
            };
        }
        return new VolumeOrientation(source, flipped, new string(codes));
    }

    /// <summary>True when the stored axes already are canonical (RAS).</summary>
    public bool IsCanonical => Codes == "RAS";
}
