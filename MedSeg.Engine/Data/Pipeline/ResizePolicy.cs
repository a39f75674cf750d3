using System.Text.Json.Serialization;

namespace MedSeg.Engine.Data.Pipeline;

/// <summary>How an image of any size becomes S×S.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ResizePolicy>))]
public enum ResizePolicy
{
    /// <summary>Resize width and height to S independently (aspect ratio not kept). Today's behaviour and the default.</summary>
    Stretch,
    /// <summary>Scale the longest side to S (aspect ratio kept), centre, and pad the rest with 0 after normalization
    /// (the normalized mean for z-scores; the mask is padded with background). See <see cref="LetterboxGeometry"/>.</summary>
    Letterbox,
}

/// <summary>Where a letterboxed image sits in the S×S square: the content is <see cref="ScaledWidth"/>×<see cref="ScaledHeight"/>
/// at (<see cref="OffsetX"/>, <see cref="OffsetY"/>); the rest is padding. The inverse crops the content and resizes it back.</summary>
public sealed record LetterboxGeometry(int OriginalWidth, int OriginalHeight, int Size, int ScaledWidth, int ScaledHeight, int OffsetX, int OffsetY)
{
    /// <summary>Longest side → S (rounded, at least 1 px), content centred (the extra pixel of an odd padding goes right/bottom).</summary>
    public static LetterboxGeometry For(int width, int height, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var scale = (double)size / Math.Max(width, height);
        var w = Math.Clamp((int)Math.Round(width * scale), 1, size);
        var h = Math.Clamp((int)Math.Round(height * scale), 1, size);
        return new LetterboxGeometry(width, height, size, w, h, (size - w) / 2, (size - h) / 2);
    }

    /// <summary>The geometry of <see cref="ResizePolicy.Stretch"/>: the content fills the square.</summary>
    public static LetterboxGeometry Stretched(int width, int height, int size) => new(width, height, size, size, size, 0, 0);

    /// <summary>A prediction already at the original resolution (sliding window): nothing to crop or resize.</summary>
    public static LetterboxGeometry Native(int width, int height) => new(width, height, Math.Max(width, height), width, height, 0, 0);

    public bool IsNative => ScaledWidth == OriginalWidth && ScaledHeight == OriginalHeight && OffsetX == 0 && OffsetY == 0;
}
