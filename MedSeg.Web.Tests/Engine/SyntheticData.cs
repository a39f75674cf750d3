using MedSeg.Engine.Training;
using NetVips;

namespace MedSeg.Web.Tests.Engine;

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("medseg-engine-").FullName;
    public string this[string relative] => System.IO.Path.Combine(Path, relative);
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Synthetic segmentation data: a bright disc on a noisy dark background, and its mask.</summary>
public static class SyntheticData
{
    /// <summary>Interleaved RGB (or grey) bytes and a 0/1 mask of a disc whose centre and radius depend on the seed.</summary>
    public static (byte[] Image, byte[] Mask) Disc(int width, int height, int seed, int bands = 3)
    {
        var random = new Random(seed);
        var (cx, cy) = (width * (0.3 + 0.4 * random.NextDouble()), height * (0.3 + 0.4 * random.NextDouble()));
        var r = Math.Min(width, height) * (0.15 + 0.1 * random.NextDouble());
        var image = new byte[width * height * bands];
        var mask = new byte[width * height];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            var inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
            mask[i] = inside ? (byte)1 : (byte)0;
            for (var k = 0; k < bands; k++)
                image[i * bands + k] = (byte)Math.Clamp((inside ? 190 : 60) + k * 10 + random.Next(-25, 26), 0, 255);
        }
        return (image, mask);
    }

    /// <summary>Writes 8-bit pixels to png/jpg/tif (NetVips) or bmp (24-bit, own writer) by the path's extension.</summary>
    public static void Write(string path, byte[] pixels, int width, int height, int bands)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        if (path.EndsWith(".bmp", StringComparison.OrdinalIgnoreCase))
        {
            File.WriteAllBytes(path, Bmp24(pixels, width, height, bands));
            return;
        }
        using var image = Image.NewFromMemory(pixels, width, height, bands, Enums.BandFormat.Uchar);
        if (path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)) image.Jpegsave(path, q: 95);
        else image.WriteToFile(path);
    }

    public static void WriteMask(string path, byte[] binary, int width, int height, byte foreground = 255) =>
        Write(path, binary.Select(v => v != 0 ? foreground : (byte)0).ToArray(), width, height, 1);

    public static void Write16(string path, ushort[] pixels, int width, int height)
    {
        using var image = Image.NewFromMemory(pixels, width, height, 1, Enums.BandFormat.Ushort);
        image.WriteToFile(path);
    }

    /// <summary>A dataset of <paramref name="count"/> disc cases as images/case-{i}.png and masks/case-{i}.png.</summary>
    public static List<TrainingCase> CreateDataset(string root, int count, int width, int height, int seed = 0)
    {
        var cases = new List<TrainingCase>();
        for (var i = 0; i < count; i++)
        {
            var (image, mask) = Disc(width, height, seed + i);
            var name = $"case-{seed + i:D3}";
            var imagePath = System.IO.Path.Combine(root, "images", name + ".png");
            var maskPath = System.IO.Path.Combine(root, "masks", name + ".png");
            Write(imagePath, image, width, height, 3);
            WriteMask(maskPath, mask, width, height);
            cases.Add(new TrainingCase(name, imagePath, maskPath));
        }
        return cases;
    }

    /// <summary>A 3-class case: a mid-grey square of label 1 and a bright disc of label 2 (apart, places and sizes from the
    /// seed) on a noisy dark background. Interleaved RGB bytes and the label map (0, 1, 2).</summary>
    public static (byte[] Image, byte[] Labels) SquareAndDisc(int width, int height, int seed)
    {
        var random = new Random(seed);
        var side = Math.Min(width, height) * (0.2 + 0.08 * random.NextDouble());
        var (sx, sy) = (width * (0.05 + 0.15 * random.NextDouble()), height * (0.1 + 0.5 * random.NextDouble()));
        var r = Math.Min(width, height) * (0.12 + 0.06 * random.NextDouble());
        var (cx, cy) = (width * (0.65 + 0.1 * random.NextDouble()), height * (0.3 + 0.4 * random.NextDouble()));
        var image = new byte[width * height * 3];
        var labels = new byte[width * height];
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            var label = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r ? 2
                : x >= sx && x < sx + side && y >= sy && y < sy + side ? 1 : 0;
            labels[i] = (byte)label;
            for (var k = 0; k < 3; k++)
                image[i * 3 + k] = (byte)Math.Clamp(label switch { 2 => 220, 1 => 130, _ => 40 } + random.Next(-20, 21), 0, 255);
        }
        return (image, labels);
    }

    /// <summary>A label-map dataset of <paramref name="count"/> <see cref="SquareAndDisc"/> cases (masks hold 0, 1, 2) as
    /// images/lab-{i}.png and masks/lab-{i}.png.</summary>
    public static List<TrainingCase> CreateLabelDataset(string root, int count, int width, int height, int seed = 0)
    {
        var cases = new List<TrainingCase>();
        for (var i = 0; i < count; i++)
        {
            var (image, labels) = SquareAndDisc(width, height, seed + i);
            var name = $"lab-{seed + i:D3}";
            var imagePath = System.IO.Path.Combine(root, "images", name + ".png");
            var maskPath = System.IO.Path.Combine(root, "masks", name + ".png");
            Write(imagePath, image, width, height, 3);
            Write(maskPath, labels, width, height, 1);
            cases.Add(new TrainingCase(name, imagePath, maskPath));
        }
        return cases;
    }

    private static byte[] Bmp24(byte[] pixels, int width, int height, int bands)
    {
        var stride = (width * 3 + 3) / 4 * 4;
        var data = new byte[54 + stride * height];
        void I32(int o, int v) => BitConverter.GetBytes(v).CopyTo(data, o);
        data[0] = (byte)'B';
        data[1] = (byte)'M';
        I32(2, data.Length);
        I32(10, 54);
        I32(14, 40);
        I32(18, width);
        I32(22, height);
        data[26] = 1;
        data[28] = 24;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var o = 54 + (height - 1 - y) * stride + x * 3;
            var i = (y * width + x) * bands;
            var (r, g, b) = bands == 1 ? (pixels[i], pixels[i], pixels[i]) : (pixels[i], pixels[i + 1], pixels[i + 2]);
            (data[o], data[o + 1], data[o + 2]) = (b, g, r);
        }
        return data;
    }
}
