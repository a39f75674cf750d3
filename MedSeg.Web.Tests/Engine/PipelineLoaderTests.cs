using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Training;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>In-memory cases with distinct contents; counts reads, can slow them down or fail one case.</summary>
public sealed class ArraySource(int count, int channels = 3, int size = 16, int delayMs = 0, int failAt = -1, int nanAt = -1) : ICaseSource
{
    private int reads;
    public int Count => count;
    public int Channels => channels;
    public int Size => size;
    public int Reads => Volatile.Read(ref reads);
    public string CaseName(int index) => $"case-{index}";

    public void Read(int index, Span<float> image, Span<byte> mask)
    {
        Interlocked.Increment(ref reads);
        if (delayMs > 0) Thread.Sleep(delayMs);
        if (index == failAt) throw new InvalidDataException($"case {index} is broken.");
        for (var i = 0; i < image.Length; i++) image[i] = MathF.Sin(index * 0.37f + i * 0.011f);
        for (var i = 0; i < mask.Length; i++) mask[i] = (byte)((i / size + index) % 5 == 0 ? 1 : 0);
        if (index == nanAt) image[image.Length / 2] = float.NaN;
    }
}

public sealed class PipelineLoaderTests
{
    private static List<(float[] X, float[] Y, int[] I)> Collect(ICaseSource source, int workers, int epoch, int seed = 11,
        AugmentationOptions? augmentation = null, int batch = 4)
    {
        using var loader = new BatchLoader(source, new BatchLoaderOptions
        {
            BatchSize = batch, Workers = workers, Seed = seed, Augmentation = augmentation ?? AugmentationOptions.Strong,
        });
        return loader.Epoch(epoch, PipelineRandom.EpochOrder(seed, epoch, source.Count))
            .Select(b => (b.Images, b.Masks, b.Indices.ToArray())).ToList();
    }

    /// <summary>Records the Linux nice value of the thread that reads each case (field 19 of /proc/thread-self/stat).</summary>
    private sealed class NiceRecordingSource(int count) : ICaseSource
    {
        public System.Collections.Concurrent.ConcurrentBag<int> Nice { get; } = [];
        public int Count => count;
        public int Channels => 1;
        public int Size => 8;
        public void Read(int index, Span<float> image, Span<byte> mask)
        {
            Nice.Add(CurrentNice());
            image.Fill(index);
            mask.Clear();
        }
    }

    private static int CurrentNice()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // after "pid (comm) ": field 3 is fields[0]
        return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void WorkersRunAtALowerPriorityThanTheTrainingThread()
    {
        if (!OperatingSystem.IsLinux()) return;
        var mine = CurrentNice();
        foreach (var (increment, expected) in new[] { (10, Math.Min(19, mine + 10)), (0, mine) })
        {
            var source = new NiceRecordingSource(6);
            using var loader = new BatchLoader(source, new BatchLoaderOptions { BatchSize = 2, Workers = 2, WorkerNiceIncrement = increment });
            Assert.Equal(3, loader.Epoch(1, PipelineRandom.EpochOrder(1, 1, 6)).Count());
            Assert.All(source.Nice, n => Assert.Equal(expected, n));
        }
        Assert.Equal(mine, CurrentNice()); // the consumer's own thread is untouched
    }

    [Fact]
    public void ANonFiniteCaseStopsTheEpochNamingTheCase()
    {
        var source = new ArraySource(8, nanAt: 5);
        var e = Assert.Throws<TrainingFailedException>(() => Collect(source, workers: 2, epoch: 1, augmentation: AugmentationOptions.Flips));
        Assert.Contains("Case 'case-5'", e.Message);
        Assert.Contains("non-finite", e.Message);
        Assert.Contains("'flips' augmentation", e.Message);
    }

    [Fact]
    public void BatchesAreDeterministicAndIndependentOfWorkerCount()
    {
        var source = new ArraySource(10);
        var one = Collect(source, workers: 1, epoch: 3);
        var two = Collect(source, workers: 2, epoch: 3);
        var four = Collect(source, workers: 4, epoch: 3);
        Assert.Equal(3, one.Count); // 10 cases at 4: 4 + 4 + 2
        Assert.Equal([4, 4, 2], one.Select(b => b.I.Length));
        for (var b = 0; b < one.Count; b++)
        {
            Assert.Equal(one[b].I, two[b].I);
            Assert.Equal(one[b].X, two[b].X);
            Assert.Equal(one[b].Y, two[b].Y);
            Assert.Equal(one[b].X, four[b].X);
            Assert.Equal(one[b].Y, four[b].Y);
        }
        var otherEpoch = Collect(source, workers: 2, epoch: 4);
        Assert.NotEqual(one.SelectMany(b => b.X), otherEpoch.SelectMany(b => b.X));
        var otherSeed = Collect(source, workers: 2, epoch: 3, seed: 12);
        Assert.NotEqual(one.SelectMany(b => b.X), otherSeed.SelectMany(b => b.X));
        Assert.All(one.SelectMany(b => b.Y), v => Assert.True(v is 0f or 1f));
    }

    [Fact]
    public void AugmentationOfACaseDependsOnlyOnSeedEpochAndCase()
    {
        // The same case lands in different batches/positions under two orders but is augmented identically.
        var source = new ArraySource(6);
        using var loader = new BatchLoader(source, new BatchLoaderOptions { BatchSize = 3, Augmentation = AugmentationOptions.Strong, Seed = 2 });
        var plane = 3 * 16 * 16;
        float[] CaseImage(int[] order, int index)
        {
            foreach (var b in loader.Epoch(1, order))
                for (var k = 0; k < b.Count; k++)
                    if (b.Indices[k] == index) return b.Images.AsSpan(k * plane, plane).ToArray();
            throw new InvalidOperationException();
        }
        Assert.Equal(CaseImage([0, 1, 2, 3, 4, 5], 4), CaseImage([4, 5, 3, 2, 1, 0], 4));
    }

    [Fact]
    public void PrefetchIsBounded()
    {
        var source = new ArraySource(48, size: 8);
        using var loader = new BatchLoader(source, new BatchLoaderOptions { BatchSize = 4, Workers = 3, Prefetch = 2 });
        var seen = 0;
        foreach (var batch in loader.Epoch(1, Enumerable.Range(0, 48).ToArray()))
        {
            Thread.Sleep(15); // slow consumer: workers must wait for free slots
            Assert.True(source.Reads <= (batch.Number + 2) * 4, $"{source.Reads} reads while holding batch {batch.Number}");
            Assert.True(loader.LiveBatches <= 2);
            seen++;
        }
        Assert.Equal(12, seen);
        Assert.InRange(loader.MaxLiveBatches, 1, 2);
        Assert.Equal(0, loader.LiveBatches);
        Assert.Equal(48, source.Reads);
    }

    [Fact]
    public void LeavingTheEpochEarlyStopsTheWorkers()
    {
        var source = new ArraySource(40, size: 8, delayMs: 5);
        using var loader = new BatchLoader(source, new BatchLoaderOptions { BatchSize = 2, Workers = 2, Prefetch = 2 });
        foreach (var _ in loader.Epoch(1, Enumerable.Range(0, 40).ToArray())) break;
        Assert.Equal(0, loader.ActiveWorkers);
        Assert.Equal(0, loader.LiveBatches);
        Assert.True(source.Reads <= 3 * 2 + 2, $"{source.Reads} reads");
    }

    [Fact]
    public void CancellationEndsTheEpochAndStopsWorkers()
    {
        var source = new ArraySource(40, size: 8, delayMs: 5);
        using var loader = new BatchLoader(source, new BatchLoaderOptions { BatchSize = 2, Workers = 2 });
        using var cts = new CancellationTokenSource();
        var consumed = 0;
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            foreach (var _ in loader.Epoch(1, Enumerable.Range(0, 40).ToArray(), cts.Token))
                if (++consumed == 2) cts.Cancel();
        });
        Assert.Equal(2, consumed);
        Assert.Equal(0, loader.ActiveWorkers);
    }

    [Fact]
    public void DisposeStopsWorkersAndUnblocksTheConsumer()
    {
        var source = new ArraySource(40, size: 8, delayMs: 40);
        var loader = new BatchLoader(source, new BatchLoaderOptions { BatchSize = 4, Workers = 2 });
        var started = new ManualResetEventSlim();
        var consumer = Task.Run(() =>
        {
            foreach (var _ in loader.Epoch(1, Enumerable.Range(0, 40).ToArray())) started.Set();
        });
        Assert.True(started.Wait(TimeSpan.FromSeconds(20)));
        loader.Dispose();
        var e = Assert.ThrowsAny<AggregateException>(() => consumer.Wait(TimeSpan.FromSeconds(20)));
        Assert.IsAssignableFrom<OperationCanceledException>(e.InnerException);
        Assert.Equal(0, loader.ActiveWorkers);
        Assert.Throws<ObjectDisposedException>(() => loader.Epoch(2, [0]));
    }

    [Fact]
    public void AFailingCaseFailsItsBatch()
    {
        using var loader = new BatchLoader(new ArraySource(8, size: 8, failAt: 5), new BatchLoaderOptions { BatchSize = 2 });
        var got = new List<int>();
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            foreach (var b in loader.Epoch(1, Enumerable.Range(0, 8).ToArray())) got.Add(b.Number);
        });
        Assert.Contains("case 5", e.Message);
        Assert.Equal([0, 1], got);
        Assert.Equal(0, loader.ActiveWorkers);
    }

    [Fact]
    public void SingletonTailIsDroppedAndTensorsHaveTheBatchShape()
    {
        using var loader = new BatchLoader(new ArraySource(9, channels: 1, size: 8), new BatchLoaderOptions { BatchSize = 4 });
        Assert.Equal(2, loader.BatchCount(9));
        Assert.Equal(Trainer.TrainingBatches(9, 4), loader.BatchCount(9));
        var batches = loader.Epoch(1, Enumerable.Range(0, 9).ToArray()).ToList();
        Assert.Equal(2, batches.Count);
        using var scope = NewDisposeScope();
        var (x, y) = batches[1].ToTensors(CPU);
        Assert.Equal([4L, 1, 8, 8], x.shape);
        Assert.Equal([4L, 1, 8, 8], y.shape);
        Assert.Equal(batches[1].Images[70], x[1, 0, 0, 6].item<float>());
    }

    [Fact]
    public void InMemoryCacheAndDiskDecodingGiveTheSameBatches()
    {
        using var dir = new TempDir();
        var cases = SyntheticData.CreateDataset(dir.Path, 5, 30, 20);
        var options = new PreprocessingOptions(ResizePolicy.Letterbox);
        var memory = CaseSources.Open(cases, 16, 3, options, memoryBudgetBytes: 1 << 20);
        var disk = CaseSources.Open(cases, 16, 3, options, memoryBudgetBytes: 0);
        Assert.IsNotType<DiskCaseSource>(memory);
        Assert.IsType<DiskCaseSource>(disk);
        var a = Collect(memory, workers: 2, epoch: 1, augmentation: AugmentationOptions.Light, batch: 2);
        var b = Collect(disk, workers: 2, epoch: 1, augmentation: AugmentationOptions.Light, batch: 2);
        Assert.Equal(a.SelectMany(t => t.X), b.SelectMany(t => t.X));
        Assert.Equal(a.SelectMany(t => t.Y), b.SelectMany(t => t.Y));
        Assert.Contains(1f, a.SelectMany(t => t.Y));
    }

    [Fact]
    public void LabelMapsKeepTheirLabelsInCacheDiskAndAugmentedBatches()
    {
        using var dir = new TempDir();
        var cases = SyntheticData.CreateLabelDataset(dir.Path, 5, 30, 20);
        var options = new PreprocessingOptions(ResizePolicy.Letterbox);
        var memory = CaseSources.Open(cases, 16, 3, options, memoryBudgetBytes: 1 << 20);
        var disk = CaseSources.Open(cases, 16, 3, options, memoryBudgetBytes: 0);
        var a = Collect(memory, workers: 2, epoch: 1, augmentation: AugmentationOptions.Strong, batch: 2);
        var b = Collect(disk, workers: 1, epoch: 1, augmentation: AugmentationOptions.Strong, batch: 2);
        Assert.Equal(a.SelectMany(t => t.Y), b.SelectMany(t => t.Y));
        var labels = a.SelectMany(t => t.Y).Distinct().Order().ToList();
        Assert.Equal([0f, 1f, 2f], labels);
    }
}
