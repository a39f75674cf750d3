using MedSeg.Engine.Data;
using NetVips;

namespace MedSeg.Web.Tests.Engine;

public sealed class ImageRenderingTests
{
    private static (int W, int H, int Bands, byte[] Pixels) DecodePng(byte[] png)
    {
        Assert.Equal(0x89, png[0]);
        Assert.Equal((byte)'P', png[1]);
        using var image = Image.NewFromBuffer(png);
        Assert.Equal(Enums.BandFormat.Uchar, image.Format);
        return (image.Width, image.Height, image.Bands, image.WriteToMemory<byte>());
    }

    [Fact]
    public void ImagePngStretches16BitTiffAndLimitsLongestSide()
    {
        using var dir = new TempDir();
        var pixels = Enumerable.Range(0, 64 * 32).Select(i => (ushort)(1000 + i)).ToArray();
        SyntheticData.Write16(dir["a.tif"], pixels, 64, 32);

        var (w, h, bands, px) = DecodePng(ImageRendering.ImagePng(dir["a.tif"], 32));
        Assert.Equal((32, 16, 1), (w, h, bands));
        Assert.InRange(px.Min(), (byte)0, (byte)20);
        Assert.InRange(px.Max(), (byte)235, (byte)255);

        var (w0, h0, _, _) = DecodePng(ImageRendering.ImagePng(dir["a.tif"], 0));
        Assert.Equal((64, 32), (w0, h0));
    }

    [Fact]
    public void MaskPngTurnsZeroOneMaskIntoZero255()
    {
        using var dir = new TempDir();
        var (_, mask) = SyntheticData.Disc(32, 32, 2);
        SyntheticData.WriteMask(dir["m.png"], mask, 32, 32, foreground: 1);
        var (_, _, bands, px) = DecodePng(ImageRendering.MaskPng(dir["m.png"], 0));
        Assert.Equal(1, bands);
        Assert.Equal(mask.Select(v => (byte)(v * 255)), px);
    }

    [Fact]
    public void OverlayAndComparisonColourTheRightPixels()
    {
        using var dir = new TempDir();
        var grey = new byte[16 * 16];
        var truth = new byte[16 * 16];
        var predicted = new byte[16 * 16];
        for (var y = 4; y < 12; y++)
        for (var x = 4; x < 12; x++)
        {
            truth[y * 16 + x] = 1;
            predicted[y * 16 + x + 2] = 1; // shifted right by 2: columns 4-5 FN, 6-11 TP, 12-13 FP
        }
        SyntheticData.Write(dir["i.png"], grey, 16, 16, 1);
        SyntheticData.WriteMask(dir["t.png"], truth, 16, 16);
        SyntheticData.WriteMask(dir["p.png"], predicted, 16, 16);

        var (w, h, bands, overlay) = DecodePng(ImageRendering.OverlayPng(dir["i.png"], dir["t.png"], 0));
        Assert.Equal((16, 16, 3), (w, h, bands));
        Assert.Equal(0, overlay[3 * (0 * 16 + 0)]);           // background stays black
        Assert.True(overlay[3 * (8 * 16 + 8)] > 50);           // filled inside
        Assert.True(overlay[3 * (4 * 16 + 4)] > overlay[3 * (8 * 16 + 8)]); // outline stronger than fill

        var (_, _, _, cmp) = DecodePng(ImageRendering.ComparisonPng(dir["i.png"], dir["t.png"], dir["p.png"], 0));
        byte[] Px(int x, int y) => cmp[(3 * (y * 16 + x))..(3 * (y * 16 + x) + 3)];
        Assert.True(Px(8, 8)[1] > Px(8, 8)[0] && Px(8, 8)[1] > Px(8, 8)[2]);   // TP green
        Assert.True(Px(13, 8)[0] > Px(13, 8)[1] && Px(13, 8)[0] > Px(13, 8)[2]); // FP red
        Assert.True(Px(4, 8)[2] > Px(4, 8)[0] && Px(4, 8)[2] > Px(4, 8)[1]);   // FN blue
        Assert.Equal([0, 0, 0], Px(0, 0));
    }

    [Fact]
    public void LabelsPngHoldsTheLabelsThemselvesResizedWithoutBlending()
    {
        using var dir = new TempDir();
        var labels = new byte[8 * 8];
        for (var i = 0; i < labels.Length; i++) labels[i] = (byte)(i % 8 < 4 ? 0 : i / 8 < 4 ? 1 : 2);
        SyntheticData.Write(dir["labels.png"], labels, 8, 8, 1);
        var (w, h, bands, px) = DecodePng(ImageRendering.LabelsPng(dir["labels.png"], 4));
        Assert.Equal((4, 4, 1), (w, h, bands));
        Assert.Equal([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 2, 2, 0, 0, 2, 2], px);

        // A binary 0/255 mask reads as 0/1, as the trainer and the metrics read it.
        var binary = new byte[16];
        binary[5] = 255;
        SyntheticData.Write(dir["binary.png"], binary, 4, 4, 1);
        var (_, _, _, bits) = DecodePng(ImageRendering.LabelsPng(dir["binary.png"], 0));
        Assert.Equal(1, bits[5]);
        Assert.Equal(1, bits.Sum(b => b));
    }
}

public sealed class ImageRenderingClassColourTests
{
    private static byte[] Rgb(byte[] png)
    {
        using var image = NetVips.Image.NewFromBuffer(png);
        Assert.Equal(3, image.Bands);
        return image.WriteToMemory<byte>();
    }

    private static readonly string[] Colours = ["#000000", "#ff0000", "#0000ff"];

    [Fact]
    public void LabelMapMaskAndOverlayArePaintedInTheClassColours()
    {
        using var dir = new TempDir();
        var grey = new byte[4 * 4];
        SyntheticData.Write(dir["image.png"], grey, 4, 4, 1);
        var labels = new byte[16];
        labels[0] = 1;
        labels[15] = 2;
        SyntheticData.Write(dir["labels.png"], labels, 4, 4, 1);

        var mask = Rgb(ImageRendering.MaskPng(dir["labels.png"], 0, Colours));
        Assert.Equal([255, 0, 0], mask[..3]);
        Assert.Equal([0, 0, 255], mask[45..48]);
        Assert.Equal([0, 0, 0], mask[3..6]);
        var overlay = Rgb(ImageRendering.OverlayPng(dir["image.png"], dir["labels.png"], 0, Colours));
        Assert.Equal([255, 0, 0], overlay[..3]); // an edge pixel: the class colour, opaque
        Assert.Equal([0, 0, 255], overlay[45..48]);
        Assert.Equal([0, 0, 0], overlay[3..6]);

        // A 3-class preview (label × 127) maps back to its labels.
        var preview = labels.Select(l => (byte)(l * 127)).ToArray();
        SyntheticData.Write(dir["preview.png"], preview, 4, 4, 1);
        Assert.Equal(mask, Rgb(ImageRendering.MaskPng(dir["preview.png"], 0, Colours, previewClasses: 3)));

        // Binary masks keep the amber overlay without class colours.
        var binary = new byte[16];
        binary[5] = 255;
        SyntheticData.Write(dir["binary.png"], binary, 4, 4, 1);
        Assert.Equal([255, 196, 0], Rgb(ImageRendering.OverlayPng(dir["image.png"], dir["binary.png"], 0))[15..18]);
    }

    [Fact]
    public void LabelMapComparisonShowsAgreementInTheClassColourAndErrorsInRedBlueAndWhite()
    {
        using var dir = new TempDir();
        SyntheticData.Write(dir["image.png"], new byte[16], 4, 4, 1);
        byte[] truth = [1, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] predicted = [1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        SyntheticData.Write(dir["truth.png"], truth, 4, 4, 1);
        SyntheticData.Write(dir["predicted.png"], predicted, 4, 4, 1);
        var rgb = Rgb(ImageRendering.ComparisonPng(dir["image.png"], dir["truth.png"], dir["predicted.png"], 0, Colours));
        Assert.Equal([255, 0, 0], rgb[..3]);      // agreement on class 1 (an edge: outlined in its colour)
        Assert.Equal([255, 0, 0], rgb[3..6]);     // wrong class: outlined in the true class's colour
        Assert.Equal([127, 0, 0], rgb[6..9]);     // class predicted on background: red (230, 0, 0) at 0.55
        Assert.Equal([0, 0, 255], rgb[9..12]);    // class 2 missed: outlined in class 2's colour
    }
}
