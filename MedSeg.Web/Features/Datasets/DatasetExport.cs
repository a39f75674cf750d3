using System.IO.Compression;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Features.Sharing;
using MedSeg.Web.Features.Users;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Datasets;

/// <summary>A dataset the user may read, with its current cases, ready to export.</summary>
public sealed record DatasetExportPlan(Dataset Dataset, IReadOnlyList<DatasetCase> Cases, string Folder)
{
    /// <summary>The download's name: the dataset's name in letters, digits, '-' and '_'.</summary>
    public string FileName => new string([.. Dataset.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]).Trim('_') is
        { Length: > 0 } n ? $"{n}-nnunet.zip" : "dataset-nnunet.zip";
}

/// <summary>
/// <c>GET /api/datasets/{id}/export.zip</c>: the dataset in the nnU-Net v2 layout, streamed as it is written (no zip in
/// memory or on disk): <c>dataset.json</c> (channel_names, labels by name, numTraining, file_ending), <c>imagesTr/ID_0000…</c>,
/// <c>labelsTr/ID…</c> (and <c>imagesTs/</c> for a volume dataset's test images). A volume dataset exports its kept original
/// files renamed to nnU-Net v2 names (a Decathlon 4D image is split into one float32 file per channel over the same header);
/// a 2D dataset exports each case as a one-slice NIfTI volume (<see cref="NiftiWriter.WriteSlab"/>, spacing when known,
/// else 1 mm) with its label map, so slicing it axially gives the image back.
/// </summary>
public sealed class DatasetExport(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store)
{
    private const string Ending = ".nii.gz";

    /// <summary>The dataset and its current cases, or null when the user may not see it.</summary>
    public async Task<DatasetExportPlan?> PlanAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        if (await Access.Datasets(db, user).AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct) is not { } dataset) return null;
        var cases = await DatasetVersions.CasesOf(db, id, dataset.Version).ToListAsync(ct);
        return new DatasetExportPlan(dataset, [.. cases.OrderBy(c => c.Name, StringComparer.Ordinal)], store.DatasetDirectory(id));
    }

    /// <summary>Writes the zip into <paramref name="output"/> with asynchronous writes only (a response body refuses synchronous ones).</summary>
    public static async Task WriteAsync(DatasetExportPlan plan, Stream output, CancellationToken ct)
    {
        await using var sink = new AsyncSink(output);
        await using (var zip = await ZipArchive.CreateAsync(sink, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct))
            await WriteEntriesAsync(plan, zip, sink, ct);
        await sink.FlushAsync(ct);
    }

    private static async Task WriteEntriesAsync(DatasetExportPlan plan, ZipArchive zip, AsyncSink sink, CancellationToken ct)
    {
        var d = plan.Dataset;
        var classMap = ClassMap.Parse(d.ClassMapJson, d.Classes);
        if (VolumeSource.Parse(d.SourceJson) is { } source)
        {
            var ending = source.FileEnding;
            await AddJsonAsync(zip, sink, d.Name, [.. source.Channels.Select(c => c.Name)], classMap, source.Volumes.Count, ending, ct);
            foreach (var v in source.Volumes)
            {
                await AddImageAsync(zip, sink, plan.Folder, "imagesTr", v.Id, v.Images, ending, ct);
                await AddFileAsync(zip, sink, $"labelsTr/{v.Id}{ending}", ArtifactStore.Resolve(plan.Folder, v.Label), ct);
            }
            foreach (var t in source.Test) await AddImageAsync(zip, sink, plan.Folder, "imagesTs", t.Id, t.Images, ending, ct);
            return;
        }
        var channels = Math.Max(1, d.Channels);
        string[] names = channels switch { 1 => ["image"], 3 => ["R", "G", "B"], _ => [.. Enumerable.Range(0, channels).Select(c => $"channel {c}")] };
        await AddJsonAsync(zip, sink, d.Name, names, classMap, plan.Cases.Count, Ending, ct);
        foreach (var c in plan.Cases)
        {
            var image = ImageDecoder.DecodeFile(ArtifactStore.Resolve(plan.Folder, c.ImagePath));
            var labels = MaskReader.ReadLabels(ArtifactStore.Resolve(plan.Folder, c.MaskPath));
            var (sx, sy) = (c.SpacingX ?? 1, c.SpacingY ?? 1);
            for (var ch = 0; ch < channels; ch++)
            {
                var band = Band(image, ch, channels);
                await AddBytesAsync(zip, sink, $"imagesTr/{c.Name}_{ch:D4}{Ending}", s => NiftiWriter.WriteSlab(s, band, image.Width, image.Height, sx, sy, labels: false), ct);
            }
            var values = Array.ConvertAll(labels.Pixels, v => (float)v);
            await AddBytesAsync(zip, sink, $"labelsTr/{c.Name}{Ending}", s => NiftiWriter.WriteSlab(s, values, labels.Width, labels.Height, sx, sy, labels: true), ct);
        }
    }

    /// <summary>One channel of a 2D image as the dataset's channel <paramref name="ch"/>: its own band, a grey image's only band,
    /// or the luminance (0.299, 0.587, 0.114) of a colour image in a one-channel dataset, as training reads them.</summary>
    private static float[] Band(Raster image, int ch, int channels)
    {
        var n = image.Width * image.Height;
        var band = new float[n];
        var b = image.Bands;
        for (var i = 0; i < n; i++)
            band[i] = b == 1 ? image.Pixels[i]
                : channels == 1 && b >= 3 ? 0.299f * image.Pixels[i * b] + 0.587f * image.Pixels[i * b + 1] + 0.114f * image.Pixels[i * b + 2]
                : image.Pixels[i * b + Math.Min(ch, b - 1)];
        return band;
    }

    /// <summary>A kept image as nnU-Net v2 channel files: copied as uploaded, or a 4D file split into one file per channel.</summary>
    private static async Task AddImageAsync(ZipArchive zip, AsyncSink sink, string folder, string to, string id, IReadOnlyList<string> images, string ending, CancellationToken ct)
    {
        if (images.Count == 1 && NiftiVolume.ReadHeader(ArtifactStore.Resolve(folder, images[0])) is { Channels: > 1 })
        {
            var volume = NiftiVolume.Read(ArtifactStore.Resolve(folder, images[0]), VolumeLimits.None);
            var n = (long)volume.Shape.X * volume.Shape.Y * volume.Shape.Z;
            for (var ch = 0; ch < volume.Channels; ch++)
            {
                var offset = ch * n;
                await AddBytesAsync(zip, sink, $"{to}/{id}_{ch:D4}{Ending}", s => NiftiWriter.WriteImage(s, volume.Header, volume.Voxels.AsSpan((int)offset, (int)n)), ct);
            }
            return;
        }
        for (var ch = 0; ch < images.Count; ch++)
            await AddFileAsync(zip, sink, $"{to}/{id}_{ch:D4}{ending}", ArtifactStore.Resolve(folder, images[ch]), ct);
    }

    private static async Task AddJsonAsync(ZipArchive zip, AsyncSink sink, string name, IReadOnlyList<string> channels, IReadOnlyList<ClassEntry> classMap,
        int training, string ending, CancellationToken ct)
    {
        var json = new Dictionary<string, object>
        {
            ["name"] = name,
            ["channel_names"] = channels.Select((c, i) => (c, i)).ToDictionary(x => x.i.ToString(System.Globalization.CultureInfo.InvariantCulture), x => x.c),
            ["labels"] = classMap.ToDictionary(c => c.Name, c => c.Value),
            ["numTraining"] = training,
            ["file_ending"] = ending,
        };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(json, new JsonSerializerOptions { WriteIndented = true });
        await AddBytesAsync(zip, sink, VolumeDatasetScanner.DatasetJson, s => s.Write(bytes), ct, CompressionLevel.Optimal);
    }

    private static async Task AddFileAsync(ZipArchive zip, AsyncSink sink, string entryName, string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        var entry = zip.CreateEntry(entryName, path.EndsWith(".gz", StringComparison.Ordinal) ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
        await using (var target = await entry.OpenAsync(ct))
            await file.CopyToAsync(target, ct);
        await sink.FlushAsync(ct);
    }

    /// <summary>An entry written by a synchronous writer: into memory (one file: a slice, or one channel of a volume), then
    /// copied into the zip asynchronously. NIfTI written here is gzip already, so it is stored.</summary>
    private static async Task AddBytesAsync(ZipArchive zip, AsyncSink sink, string entryName, Action<Stream> write, CancellationToken ct,
        CompressionLevel level = CompressionLevel.NoCompression)
    {
        using var buffer = new MemoryStream();
        write(buffer);
        buffer.Position = 0;
        var entry = zip.CreateEntry(entryName, level);
        await using (var target = await entry.OpenAsync(ct))
            await buffer.CopyToAsync(target, ct);
        await sink.FlushAsync(ct);
    }

    /// <summary>
    /// The response body for <see cref="ZipArchive"/>: even through its asynchronous API, .NET 10's zip writes an entry's data
    /// descriptor (a few bytes after each entry on a stream that cannot seek) synchronously when the entry is closed, which
    /// Kestrel refuses. Synchronous writes are held here and sent, in order, before the next asynchronous write or at
    /// <see cref="FlushAsync"/>, which the export calls after each entry; so what is held is never more than a descriptor.
    /// </summary>
    private sealed class AsyncSink(Stream inner) : Stream
    {
        private readonly MemoryStream held = new();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => held.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => held.Write(buffer);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await SendHeldAsync(cancellationToken);
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            await SendHeldAsync(cancellationToken);
            await inner.FlushAsync(cancellationToken);
        }

        private async Task SendHeldAsync(CancellationToken ct)
        {
            if (held.Length == 0) return;
            await inner.WriteAsync(held.GetBuffer().AsMemory(0, (int)held.Length), ct);
            held.SetLength(0);
        }

        public override void Flush() { } // held until FlushAsync
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) held.Dispose();
            base.Dispose(disposing);
        }
    }
}
