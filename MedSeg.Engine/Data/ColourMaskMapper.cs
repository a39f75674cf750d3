using System.Globalization;

namespace MedSeg.Engine.Data;

/// <summary>
/// Colour (RGB) and palette masks: a mask whose colours are few (at most <see cref="MaxColours"/>) maps each colour to one
/// label, the same label in every file of a dataset. The table is black = 0, then the other colours in increasing
/// <c>0xRRGGBB</c> order, or the order of a class map the user supplies. Grey pixels count as the colour (v, v, v), so grey
/// and colour masks mix in one dataset. Masks with many colours (anti-aliased edges, JPEG) cannot be mapped and are refused.
/// </summary>
public static class ColourMaskMapper
{
    /// <summary>At most this many colours in one mask and over a dataset (labels 0 … 31, <see cref="MaskReader.MaxLabel"/>).</summary>
    public const int MaxColours = MaskReader.MaxLabel + 1;

    /// <summary>True when some pixel of a lossless mask has colour bands that differ (a colour or palette mask).</summary>
    public static bool HasColour(Raster raster)
    {
        if (raster.Lossy || raster.Bands < 3) return false;
        var px = raster.Pixels;
        for (var i = 0; i < px.Length; i += raster.Bands)
            if (px[i] != px[i + 1] || px[i] != px[i + 2]) return true;
        return false;
    }

    /// <summary>The distinct colours of the mask as <c>0xRRGGBB</c>, in increasing order, or the problem that stops it from
    /// being mapped (too many colours, a value that is not 8-bit, a JPEG).</summary>
    public static (IReadOnlyList<int>? Colours, string? Problem) Colours(Raster raster)
    {
        if (raster.Lossy)
            return (null, "the mask is a colour JPEG, whose lossy compression blends colours at every edge; save the colour mask as PNG " +
                          "(or a grey label map with the labels 0 … K − 1).");
        var found = new HashSet<int>();
        var px = raster.Pixels;
        var bands = raster.Bands;
        for (var i = 0; i < px.Length; i += bands)
        {
            if (Pack(px, i, bands) is not { } colour)
                return (null, $"the colour mask holds values that are not 8-bit (e.g. {px[i].ToString(CultureInfo.InvariantCulture)}); " +
                              "save it as an 8-bit RGB or palette PNG with one colour per class.");
            if (found.Add(colour) && found.Count > MaxColours)
                return (null, $"the colour mask has more than {MaxColours} distinct colours (e.g. {string.Join(", ", found.Order().Take(4).Select(Hex))}, …), " +
                              "so its classes cannot be told apart: it looks anti-aliased or resized with smoothing. Export it without " +
                              "anti-aliasing (nearest-neighbour) so that each class has exactly one colour, or save a grey label map with the labels 0 … K − 1.");
        }
        return ([.. found.Order()], null);
    }

    /// <summary>The colour of each label 0 … K − 1 over a dataset's colour sets: black first (label 0, background, even when
    /// no mask holds it), then the other colours in increasing order.</summary>
    public static IReadOnlyList<int> Table(IEnumerable<IReadOnlyList<int>> colourSets) =>
        [0, .. colourSets.SelectMany(s => s).Where(c => c != 0).Distinct().Order()];

    /// <summary>The labels of the mask by <paramref name="table"/> (the colour of label k at index k); null and the first
    /// colour the table lacks when one is missing.</summary>
    public static (byte[]? Labels, int? Unknown) Map(Raster raster, IReadOnlyList<int> table)
    {
        var index = new Dictionary<int, byte>();
        for (var k = 0; k < table.Count; k++) index.TryAdd(table[k], (byte)k);
        var bands = raster.Bands;
        var labels = new byte[raster.Width * raster.Height];
        for (var i = 0; i < labels.Length; i++)
        {
            if (Pack(raster.Pixels, i * bands, bands) is not { } colour || !index.TryGetValue(colour, out var label))
                return (null, Pack(raster.Pixels, i * bands, bands) ?? -1);
            labels[i] = label;
        }
        return (labels, null);
    }

    /// <summary><c>#rrggbb</c> of a packed colour.</summary>
    public static string Hex(int colour) => "#" + colour.ToString("x6", CultureInfo.InvariantCulture);

    /// <summary>The packed colour of <c>#rrggbb</c>, or null when the text is not one.</summary>
    public static int? Parse(string? hex) =>
        hex is { Length: 7 } && hex[0] == '#' && int.TryParse(hex.AsSpan(1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v) ? v : null;

    private static int? Pack(float[] px, int offset, int bands)
    {
        var (r, g, b) = bands >= 3 ? (px[offset], px[offset + 1], px[offset + 2]) : (px[offset], px[offset], px[offset]);
        if (!Byte(r) || !Byte(g) || !Byte(b)) return null;
        return ((int)r << 16) | ((int)g << 8) | (int)b;
    }

    private static bool Byte(float v) => v >= 0 && v <= 255 && v == MathF.Floor(v);
}
