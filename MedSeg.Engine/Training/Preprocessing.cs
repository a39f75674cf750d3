using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MedSeg.Engine.Training;

/// <summary>An image ready for the model: (C, S, S) floats, plus its original size.</summary>
public sealed record PreparedImage(float[] Pixels, int Channels, int Size, int OriginalWidth, int OriginalHeight)
{
    /// <summary>Where the content sits in the square (the whole square for <see cref="ResizePolicy.Stretch"/>);
    /// pass it to <see cref="Preprocessing.ToOriginalSize(Tensor, LetterboxGeometry, double)"/>.</summary>
    public LetterboxGeometry Geometry { get; init; } = LetterboxGeometry.Stretched(OriginalWidth, OriginalHeight, Size);
}

/// <summary>
/// The one image pipeline shared by the trainer and the predictor (recorded in run.json as <see cref="Normalization"/>):
/// decode, convert channels (grey → replicated to 3, colour → luminance 0.299/0.587/0.114 for 1-channel models), resize
/// to S×S with antialiased bilinear interpolation, then z-score each channel of each image on its own
/// ((x − mean) / std, std floored at 1e-6 → 1). Masks are resized with nearest neighbour.
/// </summary>
public static class Preprocessing
{
    public static readonly NormalizationInfo Normalization = new(
        Method: "zscore-per-image-per-channel",
        Description: "each image channel is shifted to mean 0 and scaled to std 1 after resizing; std below 1e-6 counts as 1",
        ImageResize: "bilinear (antialiased), align_corners=false",
        MaskResize: "nearest",
        ChannelConversion: "grey images are replicated to 3 channels for 3-channel models; colour images become luminance (0.299, 0.587, 0.114) for 1-channel models");

    public static PreparedImage LoadImage(string path, int size, int channels) => Prepare(ImageDecoder.DecodeFile(path), size, channels);

    /// <summary><see cref="LoadImage(string, int, int)"/> with a resize policy and normalization of choice.</summary>
    public static PreparedImage LoadImage(string path, int size, int channels, PreprocessingOptions options) =>
        Prepare(ImageDecoder.DecodeFile(path), size, channels, options);

    public static PreparedImage Prepare(Raster raster, int size, int channels) => Prepare(raster, size, channels, PreprocessingOptions.Default);

    /// <summary>
    /// Decoded raster → (C, S, S): channel conversion, antialiased bilinear resize (to S×S, or for
    /// <see cref="ResizePolicy.Letterbox"/> to the scaled content size), normalization of the content, then zero padding
    /// around letterboxed content. Stored sample values reach float unchanged (16-bit stays 16-bit).
    /// </summary>
    public static PreparedImage Prepare(Raster raster, int size, int channels, PreprocessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var normalization = options.EffectiveNormalization;
        normalization.Validate();
        var (w, h, bands) = (raster.Width, raster.Height, raster.Bands);
        var geometry = options.Resize == ResizePolicy.Letterbox ? LetterboxGeometry.For(w, h, size) : LetterboxGeometry.Stretched(w, h, size);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = tensor(raster.Pixels, [1, h, w, bands]).permute(0, 3, 1, 2);
        if (bands != channels)
        {
            if (bands == 1) x = x.expand(1, channels, h, w);
            else if (bands == 3 && channels == 1)
                x = Luma(x);
            else
                throw new InvalidDataException($"the image has {bands} channel(s) but the model takes {channels}.");
        }
        x = x.contiguous();
        if (h != geometry.ScaledHeight || w != geometry.ScaledWidth)
            x = F.interpolate(x, [geometry.ScaledHeight, geometry.ScaledWidth], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        x = Normalize(x, normalization, channels);
        if (geometry.ScaledWidth != size || geometry.ScaledHeight != size)
        {
            var (left, top) = (geometry.OffsetX, geometry.OffsetY);
            x = F.pad(x, [left, size - geometry.ScaledWidth - left, top, size - geometry.ScaledHeight - top], TorchSharp.PaddingModes.Constant, 0);
        }
        return new PreparedImage(x.contiguous().data<float>().ToArray(), channels, size, w, h) { Geometry = geometry };
    }

    private static readonly Scalar LumaRed = 0.299f.ToScalar(), LumaGreen = 0.587f.ToScalar(), LumaBlue = 0.114f.ToScalar();
    private static readonly Scalar StdFloor = IntensityNormalization.StdFloor.ToScalar();

    /// <summary>Grey level 0.299 R + 0.587 G + 0.114 B of an (N, 3, H, W) tensor, as (N, 1, H, W).</summary>
    internal static Tensor Luma(Tensor x) => (x[.., 0..1] * LumaRed).Plus(x[.., 1..2] * LumaGreen).Plus(x[.., 2..3] * LumaBlue);

    /// <summary>Normalizes a (1, C, H, W) float tensor per channel.</summary>
    internal static Tensor Normalize(Tensor x, IntensityNormalization n, int channels)
    {
        Tensor PerChannel(IReadOnlyList<double> values) =>
            tensor(Enumerable.Range(0, channels).Select(c => (float)IntensityNormalization.At(values, c)).ToArray(), [1, channels, 1, 1]);
        Tensor Floor(Tensor std) => where(std.lt(StdFloor), ones_like(std), std);
        switch (n.Mode)
        {
            case NormalizationMode.PerImageZScore:
                var mean = x.mean([2, 3], keepdim: true);
                var std = Floor(x.std([2, 3], unbiased: false, keepdim: true));
                return (x - mean) / std;
            case NormalizationMode.DatasetZScore:
                return (x - PerChannel(n.Mean!)) / Floor(PerChannel(n.Std!));
            case NormalizationMode.CtWindow:
                var (low, high) = (PerChannel(n.Low!), PerChannel(n.High!));
                x = maximum(minimum(x, high), low);
                return n.Mean is null ? (x - low) / (high - low) : (x - PerChannel(n.Mean)) / Floor(PerChannel(n.Std!));
            default:
                return x;
        }
    }

    /// <summary>What run.json records for these options: <see cref="Normalization"/> for the default pipeline.</summary>
    public static NormalizationInfo Describe(PreprocessingOptions options)
    {
        if (options.IsDefault) return Normalization;
        var n = options.EffectiveNormalization;
        static string List(IReadOnlyList<double>? v) => v is null ? "-" : string.Join("/", v.Select(d => d.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
        var (method, description) = n.Mode switch
        {
            NormalizationMode.PerImageZScore => ("zscore-per-image-per-channel", Normalization.Description),
            NormalizationMode.DatasetZScore => ("zscore-dataset-per-channel", $"(x − mean) / std per channel with mean {List(n.Mean)}, std {List(n.Std)}"),
            NormalizationMode.CtWindow when n.Mean is null => ("window-to-unit", $"clip to [{List(n.Low)}, {List(n.High)}] per channel, then scale to [0, 1]"),
            NormalizationMode.CtWindow => ("window-zscore", $"clip to [{List(n.Low)}, {List(n.High)}] per channel, then (x − mean) / std with mean {List(n.Mean)}, std {List(n.Std)}"),
            _ => ("none", "stored sample values unchanged"),
        };
        var resize = options.Resize == ResizePolicy.Letterbox
            ? "letterbox: longest side to S, bilinear (antialiased), align_corners=false, centred, padded with 0 after normalization"
            : Normalization.ImageResize;
        var maskResize = options.Resize == ResizePolicy.Letterbox ? "nearest, letterboxed, padded with background" : Normalization.MaskResize;
        return new NormalizationInfo(method, description, resize, maskResize, Normalization.ChannelConversion);
    }

    /// <summary>A mask's labels (0/1 bytes for a binary mask, 0 … K − 1 for a label map; <see cref="MaskReader.ReadLabels"/>)
    /// resized with nearest neighbour to S×S, with its original size.</summary>
    public static (byte[] Pixels, int OriginalWidth, int OriginalHeight) LoadMask(string path, int size)
    {
        var mask = MaskReader.ReadLabels(path);
        return (ImageRendering.ResizeNearest(mask.Pixels, mask.Width, mask.Height, size, size), mask.Width, mask.Height);
    }

    /// <summary><see cref="LoadMask(string, int)"/> under a resize policy (letterbox: nearest to the content size, padded with 0).</summary>
    public static (byte[] Pixels, int OriginalWidth, int OriginalHeight) LoadMask(string path, int size, ResizePolicy resize)
    {
        if (resize == ResizePolicy.Stretch) return LoadMask(path, size);
        var mask = MaskReader.ReadLabels(path);
        return (Letterbox(mask.Pixels, LetterboxGeometry.For(mask.Width, mask.Height, size)), mask.Width, mask.Height);
    }

    /// <summary>A mask (labels) at its original size placed into the letterbox square (nearest resize, background padding).</summary>
    public static byte[] Letterbox(byte[] mask, LetterboxGeometry g)
    {
        var content = ImageRendering.ResizeNearest(mask, g.OriginalWidth, g.OriginalHeight, g.ScaledWidth, g.ScaledHeight);
        if (g.ScaledWidth == g.Size && g.ScaledHeight == g.Size) return content;
        var result = new byte[g.Size * g.Size];
        for (var y = 0; y < g.ScaledHeight; y++)
            Array.Copy(content, y * g.ScaledWidth, result, (y + g.OffsetY) * g.Size + g.OffsetX, g.ScaledWidth);
        return result;
    }

    /// <summary>Probabilities (S×S) → bilinear resize to the original size → threshold → 0/1 bytes.</summary>
    public static byte[] ToOriginalSize(Tensor probabilities, int width, int height, double threshold)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = probabilities.reshape(1, 1, probabilities.shape[^2], probabilities.shape[^1]).to(float32).cpu();
        if (p.shape[2] != height || p.shape[3] != width)
            p = F.interpolate(p, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        using var cut = threshold.ToScalar();
        return p.ge(cut).to(uint8).contiguous().data<byte>().ToArray();
    }

    /// <summary>The exact inverse of the resize policy for a prediction: crop the letterbox padding (nothing for a stretched
    /// image), bilinear resize back to the original size, threshold → 0/1 bytes.</summary>
    public static byte[] ToOriginalSize(Tensor probabilities, LetterboxGeometry geometry, double threshold)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = probabilities.reshape(1, 1, probabilities.shape[^2], probabilities.shape[^1]).to(float32).cpu();
        if (geometry.IsNative && p.shape[2] == geometry.OriginalHeight && p.shape[3] == geometry.OriginalWidth)
            return ToOriginalSize(p, geometry.OriginalWidth, geometry.OriginalHeight, threshold);
        if (p.shape[2] != geometry.Size || p.shape[3] != geometry.Size)
            throw new ArgumentException($"the prediction is {p.shape[3]}×{p.shape[2]} but the geometry is for {geometry.Size}×{geometry.Size}.");
        if (geometry.ScaledWidth != geometry.Size || geometry.ScaledHeight != geometry.Size)
            p = p[.., .., geometry.OffsetY..(geometry.OffsetY + geometry.ScaledHeight), geometry.OffsetX..(geometry.OffsetX + geometry.ScaledWidth)];
        return ToOriginalSize(p, geometry.OriginalWidth, geometry.OriginalHeight, threshold);
    }

    /// <summary>The exact inverse of the resize policy for probabilities, before any decision: (K, S, S) → crop the letterbox
    /// padding → bilinear resize (align_corners=false) of every channel to the original size → (K, H, W) float32 on the CPU.
    /// Thresholding (binary) or the argmax (multi-class) of this gives <see cref="ToOriginalSize(Tensor, LetterboxGeometry, double)"/>'s
    /// and <see cref="ToOriginalLabels"/>'s masks.</summary>
    public static Tensor ProbabilitiesToOriginal(Tensor probabilities, LetterboxGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = probabilities.reshape(1, -1, probabilities.shape[^2], probabilities.shape[^1]).to(float32).cpu();
        var native = geometry.IsNative && p.shape[2] == geometry.OriginalHeight && p.shape[3] == geometry.OriginalWidth;
        if (!native && (geometry.ScaledWidth != geometry.Size || geometry.ScaledHeight != geometry.Size))
            p = p[.., .., geometry.OffsetY..(geometry.OffsetY + geometry.ScaledHeight), geometry.OffsetX..(geometry.OffsetX + geometry.ScaledWidth)];
        if (p.shape[2] != geometry.OriginalHeight || p.shape[3] != geometry.OriginalWidth)
            p = F.interpolate(p, [geometry.OriginalHeight, geometry.OriginalWidth], mode: InterpolationMode.Bilinear, align_corners: false);
        return p[0].contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The exact inverse of the resize policy for a multi-class prediction: (K, S, S) probabilities → crop the
    /// letterbox padding → bilinear resize of every class channel to the original size → argmax → label bytes 0 … K − 1.</summary>
    public static byte[] ToOriginalLabels(Tensor probabilities, LetterboxGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = probabilities.unsqueeze(0).to(float32).cpu();
        if (geometry.ScaledWidth != geometry.Size || geometry.ScaledHeight != geometry.Size)
            p = p[.., .., geometry.OffsetY..(geometry.OffsetY + geometry.ScaledHeight), geometry.OffsetX..(geometry.OffsetX + geometry.ScaledWidth)];
        if (p.shape[2] != geometry.OriginalHeight || p.shape[3] != geometry.OriginalWidth)
            p = F.interpolate(p, [geometry.OriginalHeight, geometry.OriginalWidth], mode: InterpolationMode.Bilinear, align_corners: false);
        return p.argmax(1).to(uint8).contiguous().data<byte>().ToArray();
    }

    /// <summary>The grey level a preview PNG shows label <paramref name="label"/> of a <paramref name="classes"/>-class map
    /// with: label × ⌊255 / (K − 1)⌋ (K = 3: 0, 127, 254), so the classes are told apart by eye.</summary>
    public static byte PreviewGrey(int label, int classes) => (byte)(label * (255 / Math.Max(1, classes - 1)));

    /// <summary>Writes a label map as a viewable grey PNG (<see cref="PreviewGrey"/>), atomically. Not a label map any more:
    /// predictions (<c>medseg predict</c>) keep the label indices.</summary>
    public static void WriteLabelPreviewPng(byte[] labels, int width, int height, int classes, string path)
    {
        var pixels = new byte[labels.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = PreviewGrey(labels[i], classes);
        WritePng(ImageDecoder.EncodePng(pixels, width, height, 1), path);
    }

    /// <summary>Writes a 0/1 mask as a 0/255 grey PNG, atomically (temporary file, then rename).</summary>
    public static void WriteMaskPng(byte[] binary, int width, int height, string path)
    {
        var pixels = new byte[binary.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = binary[i] != 0 ? (byte)255 : (byte)0;
        WritePng(ImageDecoder.EncodePng(pixels, width, height, 1), path);
    }

    /// <summary>Writes a label map unchanged (label indices 0 … K − 1) as a grey PNG, atomically.</summary>
    public static void WriteLabelPng(byte[] labels, int width, int height, string path) =>
        WritePng(ImageDecoder.EncodePng(labels, width, height, 1), path);

    private static void WritePng(byte[] png, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, png);
        File.Move(tmp, path, overwrite: true);
    }
}

public sealed record NormalizationInfo(string Method, string Description, string ImageResize, string MaskResize, string ChannelConversion);
