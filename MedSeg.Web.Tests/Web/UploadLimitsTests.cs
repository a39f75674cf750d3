using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Web.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Web;

/// <summary>
/// Hard limits on dataset uploads (MedSeg:Limits): each hostile fixture is generated small on disk, streamed to
/// <c>POST /api/datasets</c>, refused with the file named, leaves nothing stored, and costs the process (server and test
/// client together) less memory than the bound stated in the test.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class UploadLimitsTests(UploadLimitsTests.App app, ITestOutputHelper output) : IClassFixture<UploadLimitsTests.App>
{
    public const long MaxUnpackedBytes = 32L * 1024 * 1024;

    public sealed class App : IDisposable
    {
        /// <summary>Default limits, except a small total so that the total-size bomb needs little disk.</summary>
        public MedSegAppFactory Factory { get; } = new(new() { ["MedSeg:Limits:MaxUnpackedBytes"] = MaxUnpackedBytes.ToString() });
        public TempDirectory Files { get; } = new("medseg-bombs");

        public void Dispose()
        {
            Factory.Dispose();
            Files.Dispose();
        }
    }

    private static MultipartFormDataContent Upload(string zipPath, string fileName = "data.zip") => new()
    {
        { new StringContent("hostile"), "name" },
        { new StreamContent(File.OpenRead(zipPath)), "file", fileName },
    };

    private string ZipWith(string name, Action<ZipArchive> fill) =>
        HostileFiles.Zip(Path.Combine(app.Files.Path, name), fill);

    /// <summary>Posts the archive under a memory probe; returns the refusal's errors after checking nothing was stored.</summary>
    private async Task<List<(string File, string Problem)>> RefusedAsync(MedSegAppFactory factory, string zipPath, int allocatedMiB, int workingSetMiB,
        HttpStatusCode expected = HttpStatusCode.BadRequest)
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        int DatasetCount() => factory.Services.CreateScope().ServiceProvider.GetRequiredService<MedSegDbContext>().Datasets.Count();
        var datasets = Path.Combine(factory.DataRoot, "datasets");
        int Folders() => Directory.Exists(datasets) ? Directory.GetDirectories(datasets).Length : 0;
        var (rowsBefore, foldersBefore) = (DatasetCount(), Folders());

        HttpResponseMessage response;
        using (var probe = MemoryProbe.Start())
        {
            response = await client.PostAsync("/api/datasets", Upload(zipPath));
            probe.AssertBelow(output, allocatedMiB, workingSetMiB);
        }

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(rowsBefore, DatasetCount());
        Assert.Equal(foldersBefore, Folders());
        var staging = Path.Combine(factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0, "staging is not empty");
        var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateArray()
            .Select(e => (e.GetProperty("file").GetString()!, e.GetProperty("problem").GetString()!)).ToList();
        foreach (var e in errors) output.WriteLine($"{e.Item1}: {e.Item2}");
        return errors;
    }

    [Fact]
    public async Task PixelBombIsRefusedByNameBeforeItIsDecoded()
    {
        var zip = ZipWith("pixels.zip", z =>
        {
            var (image, mask) = SyntheticDataset.Case(new Random(1), 32, 32);
            HostileFiles.Add(z, "images/ok.png", image);
            HostileFiles.Add(z, "masks/ok.png", mask);
            HostileFiles.Add(z, "images/bomb.png", HostileFiles.PixelBomb);
            HostileFiles.Add(z, "masks/bomb.png", SyntheticDataset.MaskWithValue(32, 32, 255));
        });
        // Decoding the bomb would hold 0.9 GB in libvips and 3.6 GB of floats.
        var errors = await RefusedAsync(app.Factory, zip, allocatedMiB: 48, workingSetMiB: 192);
        var (file, problem) = Assert.Single(errors);
        Assert.Equal("images/bomb.png", file);
        Assert.Contains("30000 × 30000", problem);
        Assert.Contains("megapixels", problem);
    }

    [Fact]
    public async Task SvgNamedPngAndBrokenBmpHeadersAreRefusedByName()
    {
        var zip = ZipWith("content.zip", z =>
        {
            var mask = SyntheticDataset.MaskWithValue(8, 8, 255);
            HostileFiles.Add(z, "images/drawing.png", HostileFiles.Svg);
            HostileFiles.Add(z, "masks/drawing.png", mask);
            HostileFiles.Add(z, "images/palette.bmp", HostileFiles.Bmp(tamper: b => HostileFiles.SetInt32(b, 46, 1_000_000_000)));
            HostileFiles.Add(z, "masks/palette.png", mask);
            HostileFiles.Add(z, "images/size.bmp", HostileFiles.Bmp(tamper: b => HostileFiles.SetInt32(b, 22, int.MinValue)));
            HostileFiles.Add(z, "masks/size.png", mask);
            HostileFiles.Add(z, "images/page.png", HostileFiles.Html);
            HostileFiles.Add(z, "masks/page.png", mask);
        });
        var errors = await RefusedAsync(app.Factory, zip, allocatedMiB: 32, workingSetMiB: 128);
        Assert.Equal(["images/drawing.png", "images/page.png", "images/palette.bmp", "images/size.bmp"], errors.Select(e => e.File));
        Assert.Contains("the file content is SVG/XML, not PNG", errors[0].Problem);
        Assert.Contains("the file content is HTML, not PNG", errors[1].Problem);
        Assert.Contains("palette of 1000000000 colours", errors[2].Problem);
        Assert.Contains("impossible size 8×-2147483648", errors[3].Problem);
    }

    [Fact]
    public async Task EntryWithAnAbsurdCompressionRatioIsRefusedBeforeUnpacking()
    {
        // 1 GiB of zeros deflates to about 1 MB: refused from the central directory, nothing is written.
        var zip = ZipWith("ratio.zip", z =>
        {
            var (image, mask) = SyntheticDataset.Case(new Random(1), 32, 32);
            HostileFiles.Add(z, "images/ok.png", image);
            HostileFiles.Add(z, "masks/ok.png", mask);
            HostileFiles.AddZeros(z, "images/zeros.png", 1L << 30);
        });
        Assert.InRange(new FileInfo(zip).Length, 1, 2 * 1024 * 1024);
        var errors = await RefusedAsync(app.Factory, zip, allocatedMiB: 32, workingSetMiB: 128);
        var (file, problem) = Assert.Single(errors);
        Assert.Equal("images/zeros.png", file);
        Assert.Contains("1.00 GB", problem);
        Assert.Contains("archive bomb", problem);
    }

    [Fact]
    public async Task ArchiveUnpackingToMoreThanTheTotalLimitIsRefusedBeforeUnpacking()
    {
        // 16 entries of 4 MiB of zeros (each under the ratio check's 64 MiB) declare 64 MiB, twice the configured 32 MiB.
        var zip = ZipWith("total.zip", z =>
        {
            for (var i = 0; i < 16; i++) HostileFiles.AddZeros(z, $"images/case-{i:D2}.png", 4L << 20);
        });
        var errors = await RefusedAsync(app.Factory, zip, allocatedMiB: 32, workingSetMiB: 128);
        var (file, problem) = Assert.Single(errors);
        Assert.Equal("data.zip", file);
        Assert.Contains("64.0 MB", problem);
        Assert.Contains("MedSeg:Limits:MaxUnpackedBytes", problem);
    }

    [Fact]
    public async Task ArchiveWithTooManyEntriesIsRefusedFromTheCentralDirectory()
    {
        var zip = HostileFiles.ManyEntries(Path.Combine(app.Files.Path, "entries.zip"), 200_000);
        // Opening it with ZipArchive alone allocates about 127 MB; counting the central directory takes a buffer.
        var errors = await RefusedAsync(app.Factory, zip, allocatedMiB: 48, workingSetMiB: 160);
        var (file, problem) = Assert.Single(errors);
        Assert.Equal("data.zip", file);
        Assert.Contains("lists 200,000 entries; at most 100,000", problem);
        Assert.Contains("MedSeg:Limits:MaxZipEntries", problem);
    }

    [Fact]
    public async Task EntryGrowingPastItsDeclaredSizeIsNeverWrittenPastIt()
    {
        // A crafted archive: the headers say 1000 bytes, the deflate stream holds 8 MiB.
        var zip = ZipWith("lying.zip", z => HostileFiles.AddZeros(z, "images/a.png", 8L << 20));
        HostileFiles.DeclareUncompressedSize(zip, 1000);
        using var dir = new TempDirectory();
        var limits = new Infrastructure.LimitsOptions();
        var problems = await Features.Datasets.ZipExtractor.ExtractAsync(zip, "lying.zip", dir.Path, limits, CancellationToken.None);
        Assert.Empty(problems); // the entry is cut at its declared size (then refused by the scanner as a broken image)
        Assert.True(new FileInfo(Path.Combine(dir.Path, "images", "a.png")).Length <= 1000);
    }

    [Fact]
    public async Task UploadsAreBoundByFreeDiskSpaceAndByTheUploadSize()
    {
        using var tight = new MedSegAppFactory(new()
        {
            ["MedSeg:Limits:MinFreeDiskBytes"] = (1L << 50).ToString(), // keep 1 PiB free: no disk has room
            ["MedSeg:Limits:UploadMaxBytes"] = (1L << 20).ToString(),
        });
        var small = Path.Combine(app.Files.Path, "small.zip");
        await File.WriteAllBytesAsync(small, SyntheticDataset.Zip(2, 16));
        var disk = await RefusedAsync(tight, small, allocatedMiB: 32, workingSetMiB: 128);
        Assert.Contains("MedSeg:Limits:MinFreeDiskBytes", Assert.Single(disk).Problem);

        // 2 MiB over a 1 MiB limit: 413 with the same problem list, from the declared length before the body is read.
        var large = ZipWith("large.zip", z =>
        {
            var entry = z.CreateEntry("images/noise.png", CompressionLevel.NoCompression);
            using var s = entry.Open();
            s.Write(new Random(1).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 2 << 20));
        });
        var tooLarge = await RefusedAsync(tight, large, allocatedMiB: 32, workingSetMiB: 128, expected: HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("MedSeg:Limits:UploadMaxBytes", Assert.Single(tooLarge).Problem);
    }

    [Fact]
    public async Task UploadWithoutALengthStopsAtTheUploadSize()
    {
        using var tight = new MedSegAppFactory(new() { ["MedSeg:Limits:UploadMaxBytes"] = (1L << 20).ToString() });
        var client = await tight.CreateAuthenticatedClientAsync();
        var form = new MultipartFormDataContent { { new StreamContent(new ZeroStream(8L << 20)), "file", "big.zip" } };
        form.Headers.ContentLength = null; // chunked: the limit applies while the body is read
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/datasets") { Content = form };
        request.Headers.TransferEncodingChunked = true;
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("big.zip", problem.GetProperty("errors")[0].GetProperty("file").GetString());
        var staging = Path.Combine(tight.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
    }
}
