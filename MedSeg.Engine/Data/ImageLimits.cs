namespace MedSeg.Engine.Data;

/// <summary>
/// Hard limits on an image file that enters from outside (an upload, a folder given to the CLI), checked from the file's
/// size and header before anything is decoded. <see cref="MaxPixels"/> bounds the decode: MedSeg holds a decoded image as
/// float samples, about 16 bytes per pixel at the peak of an RGB decode (≈ 1 GiB at the default 64 megapixels).
/// </summary>
public sealed record ImageLimits(long MaxPixels)
{
    /// <summary>64 megapixels: 8192 × 8192, or any other shape of that area.</summary>
    public const long DefaultMaxPixels = 8192L * 8192;

    /// <summary>Room for metadata (ICC profiles, EXIF, TIFF tags) on top of the samples in <see cref="MaxFileBytes"/>.</summary>
    private const long MetadataBytes = 16L * 1024 * 1024;

    /// <summary>The default limits; the web app takes its own from <c>MedSeg:Limits</c>, the CLI uses these.</summary>
    public static ImageLimits Default { get; } = new(DefaultMaxPixels);

    /// <summary>
    /// For files that were checked when they entered (stored dataset versions, prediction inputs): no pixel bound, so
    /// raising the configured limit later never makes a stored file unreadable. The content is still identified and BMP
    /// headers are still checked before any allocation.
    /// </summary>
    public static ImageLimits None { get; } = new(long.MaxValue);

    /// <summary>The largest file an image within <see cref="MaxPixels"/> can need (16-bit RGBA uncompressed is 8 bytes a
    /// pixel; twice that leaves room for poor compression) plus metadata; a larger file is refused before it is read whole.</summary>
    public long MaxFileBytes => MaxPixels >= long.MaxValue / 32 ? long.MaxValue : 16 * MaxPixels + MetadataBytes;

    /// <summary>Throws an actionable <see cref="ImageRefusedException"/> when an image of this size is over the limit.</summary>
    public void CheckSize(int width, int height)
    {
        var pixels = (long)width * height;
        if (pixels <= MaxPixels) return;
        var side = (long)Math.Floor(Math.Sqrt(MaxPixels));
        throw new ImageRefusedException(
            $"the image is {width} × {height} ({Megapixels(pixels)} megapixels), more than the {Megapixels(MaxPixels)} megapixels " +
            $"MedSeg reads per image; downscale it, or cut it into tiles of at most {side} × {side}, and upload it again.");
    }

    internal static string Megapixels(long pixels) =>
        (pixels / 1_000_000.0).ToString(pixels < 10_000_000 ? "0.##" : "0.#", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An image file refused by a limit or for its content, as opposed to a corrupt one (<see cref="InvalidDataException"/>).
/// The message is complete and says what to do. An <see cref="IOException"/>, so every caller that handles unreadable
/// files handles it too.</summary>
public sealed class ImageRefusedException(string message) : IOException(message);
