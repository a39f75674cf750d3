using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data.Entities;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using NetVips;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Web;

/// <summary>Predicting with a trained experiment through the API: upload, PredictJob on the fast path, masks.zip, renditions.</summary>
[Collection(AppCollection.Name)]
public sealed class PredictionsApiTests : IClassFixture<PredictionsApiTests.App>
{
    public sealed class App : IDisposable
    {
        private readonly SemaphoreSlim gate = new(1, 1);
        private (HttpClient Client, Guid ExperimentId)? trained;

        public MedSegAppFactory Factory { get; } = new();

        /// <summary>One tiny experiment (1 epoch, 32 px), trained once for the whole class.</summary>
        public async Task<(HttpClient Client, Guid ExperimentId)> TrainedAsync()
        {
            await gate.WaitAsync();
            try
            {
                if (trained is { } t) return t;
                var client = await Factory.CreateAuthenticatedClientAsync();
                var id = await LaunchAsync(client, epochs: 1);
                await ExperimentsApiTests.WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));
                trained = (client, id);
                return (client, id);
            }
            finally
            {
                gate.Release();
            }
        }

        public void Dispose() => Factory.Dispose();
    }

    private readonly App app;
    private readonly ITestOutputHelper output;

    public PredictionsApiTests(App app, ITestOutputHelper output) => (this.app, this.output) = (app, output);

    private static async Task<Guid> LaunchAsync(HttpClient client, int epochs)
    {
        var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(6, 32)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static MultipartFormDataContent Images(byte[] zip, bool tta = false, bool largestComponent = false) => new()
    {
        { new ByteArrayContent(zip), "file", "new-images.zip" },
        { new StringContent(tta ? "true" : "false"), "tta" },
        { new StringContent(largestComponent ? "true" : "false"), "largestComponent" },
    };

    private static readonly (string Name, int Width, int Height)[] Sizes = [("a", 32, 32), ("b", 40, 24), ("c", 20, 36)];

    private static byte[] ImagesZip(Action<ZipArchive>? tamper = null)
    {
        var random = new Random(3);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, w, h) in Sizes) SyntheticDataset.Add(zip, $"images/{name}.png", SyntheticDataset.Case(random, w, h).Image);
            tamper?.Invoke(zip);
        }
        return buffer.ToArray();
    }

    private static async Task<JsonElement> WaitForRunAsync(HttpClient client, Guid experimentId, Guid runId, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        JsonElement run;
        string status;
        do
        {
            run = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{experimentId}/predictions/{runId}");
            status = run.GetProperty("summary").GetProperty("status").GetString()!;
            if (status is "Completed" or "Failed") break;
            await Task.Delay(250);
        }
        while (DateTime.UtcNow < until);
        Assert.True(status == "Completed", $"Expected Completed, got {status}: {run.GetProperty("summary").GetProperty("error")}");
        return run;
    }

    [Fact]
    public async Task PredictionRunWritesOnePngMaskPerImageAndZipsThem()
    {
        var (client, id) = await app.TrainedAsync();
        var response = await client.PostAsync($"/api/experiments/{id}/predictions", Images(ImagesZip(), tta: true, largestComponent: true));
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var run = await WaitForRunAsync(client, id, runId, TimeSpan.FromMinutes(2));
        Assert.Equal(3, run.GetProperty("summary").GetProperty("images").GetInt32());
        Assert.Equal(3, run.GetProperty("summary").GetProperty("done").GetInt32());
        Assert.True(run.GetProperty("summary").GetProperty("testTimeAugmentation").GetBoolean());

        var zipResponse = await client.GetAsync(run.GetProperty("masksUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, zipResponse.StatusCode);
        Assert.Equal("application/zip", zipResponse.Content.Headers.ContentType?.MediaType);
        using var zip = new ZipArchive(new MemoryStream(await zipResponse.Content.ReadAsByteArrayAsync()));
        Assert.Equal(["a.png", "b.png", "c.png"], zip.Entries.Select(e => e.FullName).Order());
        foreach (var (name, w, h) in Sizes)
        {
            using var entry = new MemoryStream();
            await using (var s = zip.GetEntry(name + ".png")!.Open()) await s.CopyToAsync(entry);
            using var mask = Image.NewFromBuffer(entry.ToArray());
            Assert.Equal((w, h, 1), (mask.Width, mask.Height, mask.Bands));
            Assert.All(mask.WriteToMemory<byte>(), v => Assert.True(v is 0 or 255, $"mask value {v}"));
        }

        var overlay = await client.GetAsync(run.GetProperty("results")[1].GetProperty("overlayUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
        Assert.Equal("image/png", overlay.Content.Headers.ContentType?.MediaType);
        var image = await client.GetAsync($"/api/experiments/{id}/predictions/{runId}/images/b.png?kind=image&size=0");
        using (var png = Image.NewFromBuffer(await image.Content.ReadAsByteArrayAsync())) Assert.Equal((40, 24), (png.Width, png.Height));

        var list = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/predictions");
        Assert.Contains(list.EnumerateArray(), r => r.GetProperty("id").GetGuid() == runId && r.GetProperty("status").GetString() == "Completed");
    }

    [Fact]
    public async Task PredictionRunLeftRunningByADeadProcessIsStartedAgainAndCompletes()
    {
        var (client, id) = await app.TrainedAsync();
        var response = await client.PostAsync($"/api/experiments/{id}/predictions", Images(ImagesZip()));
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForRunAsync(client, id, runId, TimeSpan.FromMinutes(2));

        // What a kill -9 of the server mid-run leaves: status Running, the lease of a process that no longer exists.
        var files = app.Factory.Services.GetRequiredService<MedSeg.Web.Features.Predictions.PredictionRunFiles>();
        var dir = files.RunDirectory(id, runId);
        MedSeg.Web.Features.Predictions.PredictJob.Update(dir, s => s with
        {
            Status = MedSeg.Web.Features.Predictions.PredictionRunStatus.Running, Done = 1,
            Runner = $"{Environment.MachineName}:999999:dead", Heartbeat = DateTime.UtcNow.AddMinutes(-10),
        });
        var recovery = app.Factory.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>()
            .OfType<MedSeg.Web.Features.Experiments.ExperimentRecoveryService>().Single();
        Assert.Equal(1, await recovery.RecoverPredictionsAsync(CancellationToken.None));

        var run = await WaitForRunAsync(client, id, runId, TimeSpan.FromMinutes(2));
        Assert.Equal(3, run.GetProperty("summary").GetProperty("done").GetInt32());
        Assert.Equal(1, files.Read(id, runId)!.Restarts);
    }

    [Fact]
    public async Task PredictionUploadWithANonImageIsRefusedAndStoresNothing()
    {
        var (client, id) = await app.TrainedAsync();
        var zip = ImagesZip(z =>
        {
            SyntheticDataset.Add(z, "images/notes.txt", "not an image"u8.ToArray());
            SyntheticDataset.Add(z, "images/broken.png", [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3]);
        });
        var response = await client.PostAsync($"/api/experiments/{id}/predictions", Images(zip));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var files = problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("file").GetString()).ToList();
        Assert.Equal(["images/broken.png", "images/notes.txt"], files.Order());

        var runs = Path.Combine(app.Factory.DataRoot, "experiments", id.ToString("N"), "predictions-runs");
        var before = Directory.Exists(runs) ? Directory.GetDirectories(runs).Length : 0;
        var list = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/predictions");
        Assert.Equal(before, list.GetArrayLength());
        var staging = Path.Combine(app.Factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
    }

    [Fact]
    public async Task PredictionUploadWithAPixelBombOrAnSvgIsRefusedByNameAndStoresNothing()
    {
        var (client, id) = await app.TrainedAsync();
        var runs = Path.Combine(app.Factory.DataRoot, "experiments", id.ToString("N"), "predictions-runs");
        var before = Directory.Exists(runs) ? Directory.GetDirectories(runs).Length : 0;
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(SyntheticDataset.Case(new Random(1), 32, 32).Image), "files", "ok.png" },
            { new ByteArrayContent(HostileFiles.PixelBomb), "files", "bomb.png" },
            { new ByteArrayContent(HostileFiles.Svg), "files", "drawing.png" },
        };

        HttpResponseMessage response;
        using (var probe = MemoryProbe.Start())
        {
            response = await client.PostAsync($"/api/experiments/{id}/predictions", form);
            // Decoding the bomb would hold 0.9 GB in libvips and 3.6 GB of floats (the test's own form is about 1 MB).
            probe.AssertBelow(output, allocatedMiB: 48, workingSetMiB: 192);
        }
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .ToDictionary(e => e.GetProperty("file").GetString()!, e => e.GetProperty("problem").GetString()!);
        Assert.Equal(["bomb.png", "drawing.png"], errors.Keys.Order());
        Assert.Contains("30000 × 30000", errors["bomb.png"]);
        Assert.Contains("the file content is SVG/XML, not PNG", errors["drawing.png"]);

        Assert.Equal(before, Directory.Exists(runs) ? Directory.GetDirectories(runs).Length : 0);
        var staging = Path.Combine(app.Factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
    }

    [Fact]
    public async Task PredictionOnAnExperimentThatHasNotCompletedIsAConflict()
    {
        var client = await app.Factory.CreateAuthenticatedClientAsync();
        var id = await LaunchAsync(client, epochs: 200);
        try
        {
            var response = await client.PostAsync($"/api/experiments/{id}/predictions", Images(ImagesZip()));
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            await client.PostAsync($"/api/experiments/{id}/cancel", null);
        }
        Assert.False(Directory.Exists(Path.Combine(app.Factory.DataRoot, "experiments", id.ToString("N"), "predictions-runs")));
    }

    [Fact]
    public async Task PredictionsOfAnotherUsersExperimentAreNotFound()
    {
        var (client, id) = await app.TrainedAsync();
        var response = await client.PostAsync($"/api/experiments/{id}/predictions", Images(ImagesZip()));
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForRunAsync(client, id, runId, TimeSpan.FromMinutes(2));

        await using (var scope = app.Factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var created = await users.CreateAsync(new ApplicationUser { UserName = "carol@medseg.test", Email = "carol@medseg.test" }, "Carol-Pass-1");
            Assert.True(created.Succeeded);
        }
        var carol = await app.Factory.CreateAuthenticatedClientAsync("carol@medseg.test", "Carol-Pass-1");
        Assert.Equal(HttpStatusCode.NotFound, (await carol.GetAsync($"/api/experiments/{id}/predictions")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await carol.GetAsync($"/api/experiments/{id}/predictions/{runId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await carol.GetAsync($"/api/experiments/{id}/predictions/{runId}/masks.zip")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await carol.GetAsync($"/api/experiments/{id}/predictions/{runId}/images/a.png")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await carol.PostAsync($"/api/experiments/{id}/predictions", Images(ImagesZip()))).StatusCode);
    }
}
