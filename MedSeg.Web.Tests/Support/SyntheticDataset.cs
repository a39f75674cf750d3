using System.IO.Compression;
using NetVips;

namespace MedSeg.Web.Tests.Support;

/// <summary>Generates small labeled datasets: bright discs (the "lesion") on a noisy background, and their masks.</summary>
public static class SyntheticDataset
{
    /// <summary>Writes <paramref name="count"/> pairs as images/case-NN.png and masks/case-NN.png under <paramref name="root"/>.</summary>
    public static void Write(string root, int count, int size = 64, int seed = 7)
    {
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "masks"));
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var (image, mask) = Case(random, size, size);
            File.WriteAllBytes(Path.Combine(root, "images", $"case-{i:D2}.png"), image);
            File.WriteAllBytes(Path.Combine(root, "masks", $"case-{i:D2}.png"), mask);
        }
    }

    /// <summary>A zip holding images/ and masks/ (optionally under a top folder), as a user would upload it.</summary>
    public static byte[] Zip(int count, int size = 64, int seed = 7, string? topFolder = null,
        Action<ZipArchive>? tamper = null)
    {
        var random = new Random(seed);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var prefix = topFolder is null ? "" : topFolder.TrimEnd('/') + "/";
            for (var i = 0; i < count; i++)
            {
                var (image, mask) = Case(random, size, size);
                Add(zip, $"{prefix}images/case-{i:D2}.png", image);
                Add(zip, $"{prefix}masks/case-{i:D2}.png", mask);
            }
            tamper?.Invoke(zip);
        }
        return buffer.ToArray();
    }

    public static void Add(ZipArchive zip, string name, byte[] content)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Fastest);
        using var stream = entry.Open();
        stream.Write(content);
    }

    /// <summary>An RGB PNG image and its 0/255 mask with one disc.</summary>
    public static (byte[] Image, byte[] Mask) Case(Random random, int width, int height)
    {
        var rgb = new byte[width * height * 3];
        var mask = new byte[width * height];
        double cx = random.Next(width / 4, 3 * width / 4), cy = random.Next(height / 4, 3 * height / 4);
        var r = random.Next(Math.Max(3, width / 8), Math.Max(4, width / 4));
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
                var noise = random.Next(0, 40);
                var p = (y * width + x) * 3;
                rgb[p] = (byte)(inside ? 200 + noise / 2 : 40 + noise);
                rgb[p + 1] = (byte)(inside ? 120 + noise / 2 : 50 + noise);
                rgb[p + 2] = (byte)(inside ? 90 : 60 + noise);
                mask[y * width + x] = inside ? (byte)255 : (byte)0;
            }
        }
        return (Png(rgb, width, height, 3), Png(mask, width, height, 1));
    }

    public static byte[] Png(byte[] pixels, int width, int height, int bands)
    {
        using var image = Image.NewFromMemory(pixels, width, height, bands, Enums.BandFormat.Uchar);
        return image.PngsaveBuffer();
    }

    /// <summary>A grey PNG of one value everywhere except <paramref name="odd"/> at the centre.</summary>
    public static byte[] MaskWithValue(int width, int height, byte odd)
    {
        var pixels = new byte[width * height];
        pixels[height / 2 * width + width / 2] = odd;
        return Png(pixels, width, height, 1);
    }
}
