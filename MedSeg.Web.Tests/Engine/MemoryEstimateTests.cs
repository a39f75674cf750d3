using MedSeg.Engine.Models;
using MedSeg.Engine.Training;

namespace MedSeg.Web.Tests.Engine;

/// <summary>Admission: the estimate grows with batch, size and data, and a refusal names the largest batch and size that fit.</summary>
public sealed class MemoryEstimateTests
{
    private static RunShape Shape(string model = "unext", int batch = 8, int size = 256, int train = 70, int validation = 17) =>
        new(model, null, batch, size, 3, train, validation, 1024L * 1024);

    [Fact]
    public void EstimateGrowsWithBatchSizeImageSizeAndCases()
    {
        var baseline = MemoryEstimate.Bytes(Shape());
        Assert.True(MemoryEstimate.Bytes(Shape(batch: 16)) > baseline);
        Assert.True(MemoryEstimate.Bytes(Shape(size: 512)) > baseline);
        Assert.True(MemoryEstimate.Bytes(Shape(train: 700)) > baseline);
        Assert.True(MemoryEstimate.Bytes(Shape(model: "unet")) > baseline);
    }

    [Fact]
    public void EveryRegisteredModelAndVariantHasAMeasuredRow()
    {
        foreach (var name in ModelRegistry.Names)
        {
            Assert.True(MemoryEstimate.IsMeasured(name, null), $"{name} has no row in MemoryEstimate's table");
            using var model = ModelRegistry.Create(name);
            if (model is MedSeg.Engine.Models.Blocks.IVariantModel v)
                foreach (var variant in v.AvailableVariants)
                    Assert.True(MemoryEstimate.IsMeasured(name, variant), $"{name}:{variant} has no row in MemoryEstimate's table");
        }
    }

    [Fact]
    public void TheIssuesPoisonRunIsRefusedWithTheLargestBatchAndSizeThatFit()
    {
        // UNeXt, batch 8 at 2048² on an 87-case dataset: the run that grew the server to 24 GB.
        var shape = Shape(batch: 8, size: 2048);
        var ceiling = 18L << 30;
        var message = MemoryEstimate.Check(shape, ceiling, 32);
        Assert.NotNull(message);
        Assert.Contains("unext at 2048×2048 with batch size 8 needs about", message);
        Assert.Contains("18.0 GiB", message);
        var batch = int.Parse(System.Text.RegularExpressions.Regex.Match(message, @"Batch size (\d+) fits").Groups[1].Value);
        var size = int.Parse(System.Text.RegularExpressions.Regex.Match(message, @"image size (\d+) fits").Groups[1].Value);
        Assert.InRange(batch, 1, 7);
        Assert.Null(MemoryEstimate.Check(shape with { BatchSize = batch }, ceiling, 32));
        Assert.NotNull(MemoryEstimate.Check(shape with { BatchSize = batch + 1 }, ceiling, 32));
        Assert.Equal(0, size % 32);
        Assert.Null(MemoryEstimate.Check(shape with { ImageSize = size }, ceiling, 32));
        Assert.NotNull(MemoryEstimate.Check(shape with { ImageSize = size + 32 }, ceiling, 32));
    }

    [Fact]
    public void TheDocumentedKvasirRecipeFitsTheDefaultCeiling()
    {
        Assert.Null(MemoryEstimate.Check(Shape(batch: 8, size: 256, train: 640, validation: 160), 18L << 30, 32));
    }

    [Fact]
    public void MultiClassHeadRaisesTheEstimateByItsExtraChannels()
    {
        var binary = Shape(batch: 8, size: 256, train: 64, validation: 16);
        var fourClasses = binary with { Classes = 4 };
        var extra = MemoryEstimate.Bytes(fourClasses) - MemoryEstimate.Bytes(binary);
        Assert.InRange(extra, 8L * 4 * 3 * 8 * 256 * 256 * 5 / 4 - 4, 8L * 4 * 3 * 8 * 256 * 256 * 5 / 4 + 4); // × Safety 1.25
    }
}
