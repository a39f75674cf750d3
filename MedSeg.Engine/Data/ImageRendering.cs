using NetVips;

namespace MedSeg.Engine.Data;

/// <summary>
/// PNG renderings for the browser, which cannot show TIFF, 16-bit images or 0/1 masks. <c>maxSize</c> bounds the
/// longest side (0 = original size). Masks are read by <see cref="MaskReader"/>, exactly as the scanner and trainer read them
/// (binary masks as 0/1, label maps as their labels: every label other than 0 is drawn as foreground).
/// </summary>
public static class ImageRendering
{
    private static readonly byte[] MaskColour = [255, 196, 0];     // amber fill + outline
    private static readonly byte[] TruePositive = [0, 200, 0];     // green
    private static readonly byte[] FalsePositive = [230, 0, 0];    // red
    private static readonly byte[] FalseNegative = [0, 120, 255];  // blue
    private static readonly byte[] Confusion = [255, 255, 255];    // white: the wrong foreground class

    /// <summary>The image as 8-bit PNG (16-bit and float images are stretched from their minimum to their maximum).</summary>
    public static byte[] ImagePng(string imagePath, int maxSize)
    {
        var (w, h, bands, pixels) = Display(ImageDecoder.DecodeFile(imagePath), maxSize);
        return ImageDecoder.EncodePng(pixels, w, h, bands);
    }

    /// <summary>The mask as a 0/255 grey PNG (binary), or, with <paramref name="classColours"/> (<c>#rrggbb</c> of each label
    /// 0 … K − 1, a label-map dataset's class map), each label painted in its class colour on black.</summary>
    /// <param name="previewClasses">For a training preview of a K-class model (labels written as label × ⌊255 / (K − 1)⌋):
    /// K, so the grey values map back to labels; 0 for masks that hold the labels themselves.</param>
    public static byte[] MaskPng(string maskPath, int maxSize, IReadOnlyList<string>? classColours = null, int previewClasses = 0)
    {
        var mask = ReadMask(maskPath, classColours, previewClasses);
        var (w, h) = Fit(mask.Width, mask.Height, maxSize);
        var pixels = ResizeNearest(mask.Pixels, mask.Width, mask.Height, w, h);
        if (classColours is null)
        {
            for (var i = 0; i < pixels.Length; i++) pixels[i] = pixels[i] != 0 ? (byte)255 : (byte)0;
            return ImageDecoder.EncodePng(pixels, w, h, 1);
        }
        var palette = Palette(classColours);
        var rgb = new byte[pixels.Length * 3];
        for (var i = 0; i < pixels.Length; i++)
            if (pixels[i] != 0) palette[Math.Min(pixels[i], palette.Length - 1)].CopyTo(rgb, 3 * i);
        return ImageDecoder.EncodePng(rgb, w, h, 3);
    }

    /// <summary>The image with the mask filled semi-transparent and outlined: amber for a binary mask; with
    /// <paramref name="classColours"/>, each label in its class colour (outlined where the label changes).</summary>
    public static byte[] OverlayPng(string imagePath, string maskPath, int maxSize, IReadOnlyList<string>? classColours = null)
    {
        var (w, h, rgb, mask) = ImageAndMask(imagePath, maskPath, maxSize, classColours);
        var edge = Outline(mask, w, h);
        var palette = classColours is null ? null : Palette(classColours);
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            Blend(rgb, i, palette is null ? MaskColour : palette[Math.Min(mask[i], palette.Length - 1)], edge[i] ? 1.0 : 0.4);
        }
        return ImageDecoder.EncodePng(rgb, w, h, 3);
    }

    /// <summary>The image with true positives green, false positives red and false negatives blue (semi-transparent).
    /// With <paramref name="classColours"/> (a label map), per class: pixels where prediction and truth agree on a class are
    /// filled in that class's colour; a class predicted on background is red (false positive), a class missed (predicted
    /// background) blue (false negative), and a pixel given the wrong foreground class white (confusion), each outlined in
    /// the colour of the class the truth holds there.</summary>
    /// <param name="previewClasses">As for <see cref="MaskPng"/>, for a predicted preview; 0 for a label-index prediction.</param>
    public static byte[] ComparisonPng(string imagePath, string truthMaskPath, string predictedMaskPath, int maxSize,
        IReadOnlyList<string>? classColours = null, int previewClasses = 0)
    {
        var (w, h, rgb, truth) = ImageAndMask(imagePath, truthMaskPath, maxSize, classColours);
        var predictedFull = ReadMask(predictedMaskPath, classColours, previewClasses);
        var image = ImageDecoder.DecodeFile(imagePath);
        if (predictedFull.Width != image.Width || predictedFull.Height != image.Height)
            throw new InvalidDataException(
                $"the predicted mask is {predictedFull.Width}×{predictedFull.Height} but the image is {image.Width}×{image.Height}.");
        var predicted = ResizeNearest(predictedFull.Pixels, predictedFull.Width, predictedFull.Height, w, h);
        if (classColours is null)
        {
            for (var i = 0; i < truth.Length; i++)
            {
                var (t, p) = (truth[i] != 0, predicted[i] != 0);
                if (t && p) Blend(rgb, i, TruePositive, 0.45);
                else if (p) Blend(rgb, i, FalsePositive, 0.55);
                else if (t) Blend(rgb, i, FalseNegative, 0.55);
            }
            return ImageDecoder.EncodePng(rgb, w, h, 3);
        }
        var palette = Palette(classColours);
        var edge = Outline(truth, w, h);
        for (var i = 0; i < truth.Length; i++)
        {
            var (t, p) = (truth[i], predicted[i]);
            if (t == 0 && p == 0) continue;
            if (t == p) Blend(rgb, i, palette[Math.Min(t, palette.Length - 1)], 0.5);
            else if (t == 0) Blend(rgb, i, FalsePositive, 0.55);
            else if (p == 0) Blend(rgb, i, FalseNegative, 0.55);
            else Blend(rgb, i, Confusion, 0.6);
            if (edge[i]) Blend(rgb, i, palette[Math.Min(t, palette.Length - 1)], 1.0);
        }
        return ImageDecoder.EncodePng(rgb, w, h, 3);
    }

    /// <summary>
    /// The mask's labels as a transparent RGBA layer to lay over the image in the browser: each label that has a colour in
    /// <paramref name="colours"/> (label → r, g, b) is drawn opaque in it, filled or (<paramref name="contour"/>) only its
    /// outline; everything else is transparent. The page sets the layer's opacity.
    /// </summary>
    public static byte[] LabelLayerPng(string maskPath, int maxSize, IReadOnlyDictionary<int, byte[]> colours, bool contour)
    {
        var mask = MaskReader.ReadLabels(maskPath);
        var (w, h) = Fit(mask.Width, mask.Height, maxSize);
        var labels = ResizeNearest(mask.Pixels, mask.Width, mask.Height, w, h);
        var rgba = new byte[w * h * 4];
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var i = y * w + x;
            var label = labels[i];
            if (label == 0 || !colours.TryGetValue(label, out var colour)) continue;
            if (contour && x > 0 && y > 0 && x < w - 1 && y < h - 1 &&
                labels[i - 1] == label && labels[i + 1] == label && labels[i - w] == label && labels[i + w] == label) continue;
            rgba[4 * i] = colour[0];
            rgba[4 * i + 1] = colour[1];
            rgba[4 * i + 2] = colour[2];
            rgba[4 * i + 3] = 255;
        }
        using var image = Image.NewFromMemory(rgba, w, h, 4, Enums.BandFormat.Uchar);
        return image.WriteToBuffer(".png");
    }

    /// <summary>
    /// The mask's labels themselves as an 8-bit grey PNG (0 background, 1 a binary mask's foreground, 1 … K − 1 a label
    /// map's classes), resized nearest-neighbour to the longest side <paramref name="maxSize"/> so that no label is blended:
    /// the review viewer reads the values back and draws each class, TP, FP and FN itself.
    /// </summary>
    public static byte[] LabelsPng(string maskPath, int maxSize)
    {
        var mask = MaskReader.ReadLabels(maskPath);
        var (w, h) = Fit(mask.Width, mask.Height, maxSize);
        return ImageDecoder.EncodePng(ResizeNearest(mask.Pixels, mask.Width, mask.Height, w, h), w, h, 1);
    }

    /// <summary>A mask's labels: binary masks as 0/1 (<see cref="MaskReader.Read"/>) when no class colours are given; label
    /// maps (and binary masks) as labels otherwise; a K-class training preview mapped back from its grey levels.</summary>
    private static BinaryMask ReadMask(string path, IReadOnlyList<string>? classColours, int previewClasses)
    {
        if (previewClasses > 2)
        {
            var raster = ImageDecoder.DecodeFile(path);
            var step = 255 / (previewClasses - 1);
            var labels = new byte[raster.Width * raster.Height];
            for (var i = 0; i < labels.Length; i++)
                labels[i] = (byte)Math.Clamp((int)MathF.Round(raster.Pixels[i * raster.Bands] / step), 0, previewClasses - 1);
            return new BinaryMask(raster.Width, raster.Height, labels);
        }
        // Label maps read as labels (drawn as one foreground without class colours), binary masks as 0/1.
        return MaskReader.ReadLabels(path);
    }

    private static byte[][] Palette(IReadOnlyList<string> classColours) =>
        [.. classColours.Select(c => ColourMaskMapper.Parse(c) is { } v ? new[] { (byte)(v >> 16), (byte)(v >> 8), (byte)v } : MaskColour)];

    private static (int W, int H, byte[] Rgb, byte[] Mask) ImageAndMask(string imagePath, string maskPath, int maxSize,
        IReadOnlyList<string>? classColours)
    {
        var image = ImageDecoder.DecodeFile(imagePath);
        var mask = ReadMask(maskPath, classColours, 0);
        if (mask.Width != image.Width || mask.Height != image.Height)
            throw new InvalidDataException($"the mask is {mask.Width}×{mask.Height} but the image is {image.Width}×{image.Height}.");
        var (w, h, bands, pixels) = Display(image, maxSize);
        var rgb = bands == 3 ? pixels : new byte[w * h * 3];
        if (bands == 1)
            for (var i = 0; i < pixels.Length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = pixels[i];
        return (w, h, rgb, ResizeNearest(mask.Pixels, mask.Width, mask.Height, w, h));
    }

    /// <summary>8-bit display pixels, resized (Lanczos via NetVips) so that the longest side is at most maxSize.</summary>
    private static (int W, int H, int Bands, byte[] Pixels) Display(Raster raster, int maxSize)
    {
        if (raster.Bands is not (1 or 3)) raster = FirstBand(raster); // a multi-band image (MRI channels) shows its first channel
        var px = raster.Pixels;
        var bytes = new byte[px.Length];
        float lo = 0, scale = 1;
        if (raster.SixteenBitOrMore && px.Length > 0)
        {
            lo = px.Min();
            var hi = px.Max();
            scale = hi > lo ? 255f / (hi - lo) : 0f;
        }
        for (var i = 0; i < px.Length; i++) bytes[i] = (byte)Math.Clamp(MathF.Round((px[i] - lo) * scale), 0, 255);

        var (w, h) = Fit(raster.Width, raster.Height, maxSize);
        if (w == raster.Width && h == raster.Height) return (w, h, raster.Bands, bytes);
        using var image = Image.NewFromMemory(bytes, raster.Width, raster.Height, raster.Bands, Enums.BandFormat.Uchar);
        using var resized = image.Resize((double)w / raster.Width, vscale: (double)h / raster.Height);
        using var cast = resized.Cast(Enums.BandFormat.Uchar);
        return (cast.Width, cast.Height, cast.Bands, cast.WriteToMemory<byte>());
    }

    private static Raster FirstBand(Raster raster)
    {
        var first = new float[raster.Width * raster.Height];
        for (var i = 0; i < first.Length; i++) first[i] = raster.Pixels[i * raster.Bands];
        return new Raster(raster.Width, raster.Height, 1, first, raster.SixteenBitOrMore, raster.Lossy);
    }

    private static (int W, int H) Fit(int width, int height, int maxSize)
    {
        if (maxSize <= 0 || Math.Max(width, height) <= maxSize) return (width, height);
        var s = (double)maxSize / Math.Max(width, height);
        return (Math.Max(1, (int)Math.Round(width * s)), Math.Max(1, (int)Math.Round(height * s)));
    }

    internal static byte[] ResizeNearest(byte[] source, int width, int height, int newWidth, int newHeight)
    {
        if (width == newWidth && height == newHeight) return (byte[])source.Clone();
        var result = new byte[newWidth * newHeight];
        for (var y = 0; y < newHeight; y++)
        {
            var sy = Math.Min(height - 1, (int)((y + 0.5) * height / newHeight));
            for (var x = 0; x < newWidth; x++)
                result[y * newWidth + x] = source[sy * width + Math.Min(width - 1, (int)((x + 0.5) * width / newWidth))];
        }
        return result;
    }

    private static bool[] Outline(byte[] mask, int w, int h)
    {
        var edge = new bool[mask.Length];
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var i = y * w + x;
            if (mask[i] == 0) continue;
            edge[i] = x == 0 || y == 0 || x == w - 1 || y == h - 1 ||
                      mask[i - 1] != mask[i] || mask[i + 1] != mask[i] || mask[i - w] != mask[i] || mask[i + w] != mask[i];
        }
        return edge;
    }

    private static void Blend(byte[] rgb, int pixel, byte[] colour, double alpha)
    {
        for (var k = 0; k < 3; k++)
            rgb[3 * pixel + k] = (byte)Math.Round(rgb[3 * pixel + k] * (1 - alpha) + colour[k] * alpha);
    }
}
