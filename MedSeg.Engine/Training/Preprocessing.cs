using MedSeg.Engine.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MedSeg.Engine.Training;

/// <summary>An image ready for the model: (C, S, S) floats, plus its original size.</summary>
public sealed record PreparedImage(float[] Pixels, int Channels, int Size, int OriginalWidth, int OriginalHeight);

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

    public static PreparedImage Prepare(Raster raster, int size, int channels)
    {
        var (w, h, bands) = (raster.Width, raster.Height, raster.Bands);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = tensor(raster.Pixels, [1, h, w, bands]).permute(0, 3, 1, 2);
        if (bands != channels)
        {
            if (bands == 1) x = x.expand(1, channels, h, w);
            else if (bands == 3 && channels == 1)
                x = (x[.., 0..1] * 0.299f + x[.., 1..2] * 0.587f + x[.., 2..3] * 0.114f);
            else
                throw new InvalidDataException($"the image has {bands} channel(s) but the model takes {channels}.");
        }
        x = x.contiguous();
        if (h != size || w != size)
            x = F.interpolate(x, [size, size], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        var mean = x.mean([2, 3], keepdim: true);
        var std = x.std([2, 3], unbiased: false, keepdim: true);
        std = where(std.lt(1e-6), ones_like(std), std);
        x = (x - mean) / std;
        return new PreparedImage(x.contiguous().data<float>().ToArray(), channels, size, w, h);
    }

    /// <summary>A binary mask (0/1 bytes) resized with nearest neighbour to S×S, with its original size.</summary>
    public static (byte[] Pixels, int OriginalWidth, int OriginalHeight) LoadMask(string path, int size)
    {
        var mask = MaskReader.Read(path);
        return (ImageRendering.ResizeNearest(mask.Pixels, mask.Width, mask.Height, size, size), mask.Width, mask.Height);
    }

    /// <summary>Probabilities (S×S) → bilinear resize to the original size → threshold → 0/1 bytes.</summary>
    public static byte[] ToOriginalSize(Tensor probabilities, int width, int height, double threshold)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = probabilities.reshape(1, 1, probabilities.shape[^2], probabilities.shape[^1]).to(float32).cpu();
        if (p.shape[2] != height || p.shape[3] != width)
            p = F.interpolate(p, [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        return p.ge(threshold).to(uint8).contiguous().data<byte>().ToArray();
    }

    /// <summary>Writes a 0/1 mask as a 0/255 grey PNG, atomically (temporary file, then rename).</summary>
    public static void WriteMaskPng(byte[] binary, int width, int height, string path)
    {
        var pixels = new byte[binary.Length];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = binary[i] != 0 ? (byte)255 : (byte)0;
        var png = ImageDecoder.EncodePng(pixels, width, height, 1);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, png);
        File.Move(tmp, path, overwrite: true);
    }
}

public sealed record NormalizationInfo(string Method, string Description, string ImageResize, string MaskResize, string ChannelConversion);
