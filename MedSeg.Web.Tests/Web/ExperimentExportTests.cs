using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Export;
using MedSeg.Engine.Inference;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Web;

/// <summary><c>GET /api/experiments/{id}/export.zip</c>: the weights of a finished run, and that they predict in PyTorch what
/// the web predicts.</summary>
[Collection(AppCollection.Name)]
public sealed class ExperimentExportTests(ExperimentExportTests.App app, ITestOutputHelper output) : IClassFixture<ExperimentExportTests.App>
{
    public sealed class App : IDisposable
    {
        private readonly SemaphoreSlim gate = new(1, 1);
        private (HttpClient Client, Guid ExperimentId, HttpResponseMessage WhileRunning)? trained;

        public MedSegAppFactory Factory { get; } = new();

        /// <summary>One tiny UNeXt (1 epoch, 32 px), trained once for the class; the export asked for right after the launch.</summary>
        public async Task<(HttpClient Client, Guid ExperimentId, HttpResponseMessage WhileRunning)> TrainedAsync()
        {
            await gate.WaitAsync();
            try
            {
                if (trained is { } t) return t;
                var client = await Factory.CreateAuthenticatedClientAsync();
                var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("export discs", SyntheticDataset.Zip(6, 32)));
                Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
                var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
                var launch = await client.PostAsJsonAsync("/api/experiments",
                    new { datasetId, model = "unext", variant = "s", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
                Assert.Equal(HttpStatusCode.Accepted, launch.StatusCode);
                var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
                var whileRunning = await client.GetAsync($"/api/experiments/{id}/export.zip");
                await ExperimentsApiTests.WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));
                trained = (client, id, whileRunning);
                return trained.Value;
            }
            finally
            {
                gate.Release();
            }
        }

        public string RunDirectory(Guid id) => Factory.Services.GetRequiredService<ArtifactStore>().ExperimentDirectory(id);

        public void Dispose() => Factory.Dispose();
    }

    [Fact]
    public async Task ExportZipHoldsTheWeightsOnceTheRunHasFinished()
    {
        var (client, id, whileRunning) = await app.TrainedAsync();
        var audited = await DownloadRowsAsync(id);

        // Asked right after the launch: Queued or Running, refused with what to do.
        Assert.Equal(HttpStatusCode.Conflict, whileRunning.StatusCode);
        var problem = await whileRunning.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("The run has not finished", problem.GetProperty("title").GetString());
        Assert.Contains("once it has finished", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/experiments/{Guid.NewGuid()}/export.zip")).StatusCode);

        var response = await client.GetAsync($"/api/experiments/{id}/export.zip");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        using (var zip = new ZipArchive(new MemoryStream(bytes)))
        {
            Assert.Equal(["model.dat", "model.json", "model.pt", "model.safetensors"], zip.Entries.Select(e => e.FullName).Order());
            using var json = JsonDocument.Parse(zip.GetEntry("model.json")!.Open());
            var meta = json.RootElement;
            Assert.Equal(ModelExporter.FormatVersion, meta.GetProperty("Format").GetString());
            Assert.Equal("unext", meta.GetProperty("Architecture").GetProperty("Name").GetString());
            Assert.Equal("s", meta.GetProperty("Architecture").GetProperty("Variant").GetString());
            Assert.Equal(32, meta.GetProperty("Input").GetProperty("Height").GetInt32());
            Assert.Equal("sigmoid", meta.GetProperty("Output").GetProperty("Activation").GetString());
        }

        // The export folder sits in the run's artifacts; the second download is served from the cache.
        var runDir = app.RunDirectory(id);
        Assert.True(File.Exists(Path.Combine(runDir, "export", ModelExporter.PyTorchFile)));
        Assert.Empty(Directory.GetDirectories(runDir, "export.tmp-*").Concat(Directory.GetDirectories(runDir, "export.old-*")));
        var built = File.GetLastWriteTimeUtc(Path.Combine(runDir, "export.zip"));
        var again = await client.GetAsync($"/api/experiments/{id}/export.zip");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(bytes, await again.Content.ReadAsByteArrayAsync());
        Assert.Equal(built, File.GetLastWriteTimeUtc(Path.Combine(runDir, "export.zip")));

        Assert.Equal(audited + 2, await DownloadRowsAsync(id));
    }

    [Fact]
    public async Task EnsemblePredictionsNameTheExperimentIdsFieldWhenTheyCannotBeUsed()
    {
        var (client, id, _) = await app.TrainedAsync();
        async Task<JsonElement> Refused(string experimentIds)
        {
            using var buffer = new MemoryStream();
            using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
                SyntheticDataset.Add(zip, "a.png", SyntheticDataset.Case(new Random(1), 32, 32).Image);
            var form = new MultipartFormDataContent
            {
                { new ByteArrayContent(buffer.ToArray()), "file", "images.zip" },
                { new StringContent(experimentIds), "experimentIds" },
                { new StringContent("true"), "slidingWindow" },
            };
            var response = await client.PostAsync($"/api/experiments/{id}/predictions", form);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("experimentIds")[0];
        }

        Assert.Contains("is not an experiment id", (await Refused("not-a-guid")).GetString());
        var unknown = Guid.NewGuid();
        Assert.Contains($"{unknown} was not found", (await Refused($"{id},{unknown}")).GetString());
        Assert.Contains("at most 10 runs", (await Refused(string.Join(",", Enumerable.Range(0, 10).Select(_ => Guid.NewGuid())))).GetString());
    }

    [Fact]
    public async Task SlidingWindowPredictionEqualsTheEnginesSlidingWindowMask()
    {
        var (client, id, _) = await app.TrainedAsync();
        var image = SyntheticDataset.Case(new Random(8), 72, 40).Image;
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true)) SyntheticDataset.Add(zip, "wide.png", image);
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(buffer.ToArray()), "file", "images.zip" },
            { new StringContent("true"), "slidingWindow" },
        };
        var response = await client.PostAsync($"/api/experiments/{id}/predictions", form);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        JsonElement run;
        var until = DateTime.UtcNow.AddMinutes(2);
        do
        {
            await Task.Delay(250);
            run = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/predictions/{runId}");
        }
        while (run.GetProperty("summary").GetProperty("status").GetString() is "Queued" or "Running" && DateTime.UtcNow < until);
        Assert.Equal("Completed", run.GetProperty("summary").GetProperty("status").GetString());
        Assert.True(run.GetProperty("summary").GetProperty("slidingWindow").GetBoolean());

        using var masks = new ZipArchive(new MemoryStream(await client.GetByteArrayAsync(run.GetProperty("masksUrl").GetString())));
        using var dir = new TempDirectory("medseg-sliding");
        var maskPath = Path.Combine(dir.Path, "wide-mask.png");
        masks.GetEntry("wide.png")!.ExtractToFile(maskPath);
        var imagePath = Path.Combine(dir.Path, "wide.png");
        await File.WriteAllBytesAsync(imagePath, image);
        using var predictor = Predictor.Load(app.RunDirectory(id), "cpu", new InferenceOptions { Mode = PredictionMode.SlidingWindow });
        var expected = predictor.PredictMany([imagePath])[0];
        var served = MaskReader.Read(maskPath);
        Assert.Equal((72, 40), (served.Width, served.Height));
        Assert.Equal(expected.Pixels, served.Pixels);
    }

    private async Task<int> DownloadRowsAsync(Guid id)
    {
        using var scope = app.Factory.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<MedSegDbContext>().AuditLog.AsNoTracking()
            .CountAsync(a => a.Action == AuditActions.DownloadWeights && a.TargetId == id.ToString());
    }

    [TorchFact]
    public async Task ExportLoadedInPyTorchReproducesTheWebPrediction()
    {
        var (client, id, _) = await app.TrainedAsync();
        using var dir = new TempDirectory("medseg-export");
        var zipPath = Path.Combine(dir.Path, "export.zip");
        var response = await client.GetAsync($"/api/experiments/{id}/export.zip");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await File.WriteAllBytesAsync(zipPath, await response.Content.ReadAsByteArrayAsync());

        // One image that is not the training size, so that both resizes take part.
        var (width, height) = (40, 24);
        var image = Path.Combine(dir.Path, "new.png");
        await File.WriteAllBytesAsync(image, SyntheticDataset.Case(new Random(11), width, height).Image);

        // The web's predictor (the prediction job's engine call, fast path on) on the same image.
        float[] expected;
        BinaryMask webMask;
        using (var predictor = Predictor.Load(app.RunDirectory(id), "cpu", new InferenceOptions()))
        {
            var map = predictor.PredictProbabilities([image])[0];
            Assert.Equal((1, width, height), (map.Channels, map.Width, map.Height));
            expected = map.Values;
            webMask = predictor.PredictMany([image])[0];
            Assert.Equal(webMask.Pixels, predictor.ToMask(map).Pixels);
        }

        var probabilities = Path.Combine(dir.Path, "p.f32");
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "MedSeg.sln"))) root = root.Parent;
        Assert.True(root is not null, $"the repository root (MedSeg.sln) is not above {AppContext.BaseDirectory}.");
        var script = Path.Combine(root!.FullName, "scripts", "export", "load_medseg.py");
        var printed = TorchPython.Run(TimeSpan.FromMinutes(2), script, "--export", zipPath, "--image", image, "--probabilities", probabilities);
        output.WriteLine(printed);
        var bytes = await File.ReadAllBytesAsync(probabilities);
        var actual = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, actual, 0, bytes.Length);
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        output.WriteLine($"max |PyTorch - MedSeg| = {worst:E2} over {expected.Length} pixels (probabilities {expected.Min():F4} … {expected.Max():F4})");
        Assert.True(worst <= 1e-4, $"PyTorch's probabilities differ from MedSeg's by up to {worst:E2}.");
        Assert.True(expected.Max() - expected.Min() > 1e-3, "the model predicts a constant: the comparison would prove nothing.");
    }
}
