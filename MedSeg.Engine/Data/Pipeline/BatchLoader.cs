using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace MedSeg.Engine.Data.Pipeline;

public sealed record BatchLoaderOptions
{
    public required int BatchSize { get; init; }
    /// <summary>Worker threads that read and augment batches in parallel (each builds whole batches).</summary>
    public int Workers { get; init; } = 2;
    /// <summary>At most this many batches exist at once: the one the consumer holds plus those prepared ahead (≥ 1).</summary>
    public int Prefetch { get; init; } = 3;
    public AugmentationOptions Augmentation { get; init; } = AugmentationOptions.None;
    /// <summary>Seed of <see cref="PipelineRandom.For"/>: case i in epoch e is augmented with For(Seed, e, i).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Drop a trailing batch of one case (batch norm cannot train on it), as <c>Trainer.TrainingBatches</c>.</summary>
    public bool DropSingletonTail { get; init; } = true;
    /// <summary>
    /// On Linux, run the worker threads this many nice levels below the thread that starts the epoch (0 = same priority).
    /// With as many torch threads as cores, workers at the same priority preempt libtorch's OpenMP threads, and one
    /// preempted OpenMP thread stalls the whole parallel region: measured on 2 cores, UNeXt with the strong preset,
    /// the trainer took 1.095× a bare loop's time at equal priority (docs/benchmarks.md). Lower-priority workers use
    /// the gaps and still run at full speed whenever the consumer waits for a batch.
    /// </summary>
    public int WorkerNiceIncrement { get; init; } = 10;
}

/// <summary>
/// A batch as plain arrays: images (B, C, S, S) and masks (B, 1, S, S) of labels (0/1, or 0 … K − 1 for a label map), row-major. The arrays are never reused by
/// the loader, so a batch stays valid after the consumer moves on.
/// </summary>
public sealed class LoadedBatch(int epoch, int number, int[] indices, int channels, int size, float[] images, float[] masks)
{
    public int Epoch { get; } = epoch;
    /// <summary>0-based position in the epoch.</summary>
    public int Number { get; } = number;
    /// <summary>Case indices (into the source) in batch order.</summary>
    public IReadOnlyList<int> Indices { get; } = indices;
    public int Count => indices.Length;
    public int Channels { get; } = channels;
    public int Size { get; } = size;
    public float[] Images { get; } = images;
    public float[] Masks { get; } = masks;

    /// <summary>Builds the tensors on the calling thread (inside its current DisposeScope, if any) and moves them to
    /// <paramref name="device"/>. Call it on the training thread inside the step's <c>NewDisposeScope()</c>.</summary>
    public (Tensor Images, Tensor Masks) ToTensors(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return (tensor(Images, [Count, Channels, Size, Size], device: device), tensor(Masks, [Count, 1, Size, Size], device: device));
    }
}

/// <summary>
/// Produces the batches of an epoch from an <see cref="ICaseSource"/> (the in-memory <c>CaseStore</c> or decode from
/// disk) with parallel read + augmentation on <see cref="BatchLoaderOptions.Workers"/> threads and a bounded prefetch:
/// never more than <see cref="BatchLoaderOptions.Prefetch"/> batches materialized. Output is deterministic for a seed
/// whatever the worker count (each case draws from <c>PipelineRandom.For(seed, epoch, caseIndex)</c>; batch b always
/// holds order[b·B … b·B+B−1]). Batches are plain float arrays, so no tensor crosses threads; see
/// <see cref="LoadedBatch.ToTensors"/>. One epoch at a time per loader. Dispose (or cancel) stops the workers.
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly ICaseSource source;
    private readonly BatchLoaderOptions options;
    private readonly CancellationTokenSource disposal = new();
    private readonly ConcurrentDictionary<Task, byte> workers = new();
    private int live;
    private int maxLive;
    private int disposed;

    public BatchLoader(ICaseSource source, BatchLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 1) throw new ArgumentException("BatchSize must be at least 1.");
        if (options.Workers < 1) throw new ArgumentException("Workers must be at least 1.");
        if (options.Prefetch < 1) throw new ArgumentException("Prefetch must be at least 1.");
        options.Augmentation.Validate();
        this.source = source;
        this.options = options;
    }

    public ICaseSource Source => source;
    public BatchLoaderOptions Options => options;
    /// <summary>Batches materialized now (built and not yet passed by the consumer).</summary>
    public int LiveBatches => Volatile.Read(ref live);
    /// <summary>The most batches ever materialized at once (≤ Prefetch).</summary>
    public int MaxLiveBatches => Volatile.Read(ref maxLive);
    /// <summary>Worker threads still running.</summary>
    public int ActiveWorkers => workers.Count;

    /// <summary>Batches for an order of <paramref name="count"/> cases (see <see cref="BatchLoaderOptions.DropSingletonTail"/>).</summary>
    public int BatchCount(int count)
    {
        var b = options.BatchSize;
        return options.DropSingletonTail && count > b && count % b == 1 ? count / b : (count + b - 1) / b;
    }

    /// <summary>
    /// The epoch's batches in order. Workers start on the first <c>MoveNext</c> and stop when the enumeration ends,
    /// is disposed (leaving a <c>foreach</c>), or <paramref name="ct"/> / <see cref="Dispose"/> cancels it
    /// (then <see cref="OperationCanceledException"/>). A failure to read a case is rethrown at its batch.
    /// </summary>
    public IEnumerable<LoadedBatch> Epoch(int epoch, IReadOnlyList<int> order, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(order);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        foreach (var i in order)
            if (i < 0 || i >= source.Count) throw new ArgumentOutOfRangeException(nameof(order), $"case index {i} is outside 0..{source.Count - 1}.");
        return Run(epoch, order.ToArray(), ct);
    }

    private IEnumerable<LoadedBatch> Run(int epoch, int[] order, CancellationToken ct)
    {
        var batches = BatchCount(order.Length);
        if (batches == 0) yield break;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, disposal.Token);
        var token = cts.Token;
        var results = new TaskCompletionSource<LoadedBatch>[batches];
        for (var b = 0; b < batches; b++) results[b] = new TaskCompletionSource<LoadedBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var slots = new SemaphoreSlim(options.Prefetch, options.Prefetch);
        var next = -1;
        var started = new List<Task>();
        var nice = ThreadNice.Current() is int current && options.WorkerNiceIncrement > 0 ? Math.Min(19, current + options.WorkerNiceIncrement) : (int?)null;
        for (var w = 0; w < Math.Min(options.Workers, batches); w++)
        {
            // LongRunning: a dedicated thread per worker and epoch, so its nice value never leaks into the thread pool.
            var task = Task.Factory.StartNew(() =>
                {
                    if (nice is int n) ThreadNice.Set(n);
                    Work(epoch, order, batches, results, slots, () => Interlocked.Increment(ref next), token);
                },
                token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            workers.TryAdd(task, 0);
            started.Add(task);
        }
        var passed = 0;
        try
        {
            for (var b = 0; b < batches; b++)
            {
                LoadedBatch batch;
                try
                {
                    // A prefetched batch may already be complete; cancellation still ends the epoch before it is handed out.
                    token.ThrowIfCancellationRequested();
                    batch = results[b].Task.WaitAsync(token).GetAwaiter().GetResult();
                }
                catch (OperationCanceledException) when (disposal.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    throw new OperationCanceledException("the batch loader was disposed.");
                }
                yield return batch;
                Interlocked.Decrement(ref live);
                passed++;
                slots.Release();
            }
        }
        finally
        {
            cts.Cancel();
            try { Task.WaitAll([.. started]); }
            catch (AggregateException) { } // cancellation, or a failure already delivered through its batch
            foreach (var t in started) workers.TryRemove(t, out _);
            // Batches built but not passed (the one held when the enumeration stopped, and those prepared ahead) are dropped.
            for (var k = passed; k < batches; k++)
                if (results[k].Task.IsCompletedSuccessfully) Interlocked.Decrement(ref live);
        }
    }

    private void Work(int epoch, int[] order, int batches, TaskCompletionSource<LoadedBatch>[] results, SemaphoreSlim slots,
        Func<int> take, CancellationToken token)
    {
        var (c, s) = (source.Channels, source.Size);
        var plane = s * s;
        var augmenter = new Augmenter(options.Augmentation);
        var image = new float[c * plane];
        var mask = new byte[plane];
        while (true)
        {
            try
            {
                slots.Wait(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var b = take();
            if (b >= batches)
            {
                slots.Release();
                return;
            }
            try
            {
                var start = b * options.BatchSize;
                var count = Math.Min(options.BatchSize, order.Length - start); // a dropped singleton tail is never read
                var indices = order.AsSpan(start, count).ToArray();
                var x = new float[count * c * plane];
                var y = new float[count * plane];
                for (var k = 0; k < count; k++)
                {
                    token.ThrowIfCancellationRequested();
                    source.Read(indices[k], image, mask);
                    var augmented = x.AsSpan(k * c * plane, c * plane);
                    augmenter.Apply(image, mask, c, s, PipelineRandom.For(options.Seed, epoch, indices[k]), augmented, y.AsSpan(k * plane, plane));
                    CheckFinite(augmented, indices[k], epoch);
                }
                var now = Interlocked.Increment(ref live);
                int seen;
                while (now > (seen = Volatile.Read(ref maxLive)) && Interlocked.CompareExchange(ref maxLive, now, seen) != seen) { }
                results[b].SetResult(new LoadedBatch(epoch, b, indices, c, s, x, y));
            }
            catch (OperationCanceledException)
            {
                results[b].TrySetCanceled(token);
                slots.Release();
                return;
            }
            catch (Exception e)
            {
                results[b].TrySetException(e);
                slots.Release();
            }
        }
    }

    /// <summary>A NaN or infinity in a batch would poison the batch-norm statistics and surface later as a NaN loss that
    /// reads like a learning-rate problem; it is stopped here, naming the case.</summary>
    private void CheckFinite(ReadOnlySpan<float> image, int index, int epoch)
    {
        foreach (var v in image)
        {
            if (float.IsFinite(v)) continue;
            var augmentation = options.Augmentation.Name is "none" ? "" : $" and the '{options.Augmentation.Name}' augmentation";
            throw new Training.TrainingFailedException(
                $"Case '{source.CaseName(index)}' holds non-finite pixel values ({v}) after preprocessing{augmentation} in epoch {epoch}. " +
                "Check that the image file holds no NaN or infinite values (floating-point TIFF); if it does not, this is a MedSeg bug: " +
                "please report it with the case and the run's run.json. Nothing was trained on this batch.");
        }
    }

    /// <summary>Cancels a running epoch and waits for its workers to stop.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0) return;
        disposal.Cancel();
        try { Task.WaitAll([.. workers.Keys], TimeSpan.FromSeconds(30)); }
        catch (AggregateException) { }
        disposal.Dispose();
    }
}

/// <summary>The Linux nice value of the calling thread (setpriority/getpriority on its thread id); elsewhere, or when
/// libc does not answer, nothing happens and <see cref="Current"/> is null.</summary>
internal static class ThreadNice
{
    private const int PrioProcess = 0;

    public static int? Current()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            System.Runtime.InteropServices.Marshal.SetLastPInvokeError(0);
            var value = GetPriority(PrioProcess, GetTid());
            return value == -1 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() != 0 ? null : value;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Sets the calling thread's nice value (raising it needs no privilege); false when it could not.</summary>
    public static bool Set(int nice)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return SetPriority(PrioProcess, GetTid(), nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // Blittable int signatures: DllImport needs no unsafe code here.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetTid();

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getpriority", SetLastError = true)]
    private static extern int GetPriority(int which, int who);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int prio);
}
