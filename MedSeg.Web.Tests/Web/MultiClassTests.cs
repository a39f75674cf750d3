using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Data;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace MedSeg.Web.Tests.Web;

/// <summary>Label maps in the web: uploads of grey label maps and colour masks, the class map (GET, PUT), a 3-class experiment
/// trained, pushed and reviewed per class.</summary>
[Collection(AppCollection.Name)]
public sealed class MultiClassTests(MultiClassTests.App app) : IClassFixture<MultiClassTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory = app.Factory;

    /// <summary>A zip of <paramref name="count"/> 32×32 cases whose masks hold a left disc of label 1 and a right disc of
    /// label 2 (grey label maps), or those labels painted in <paramref name="colours"/> (RGB).</summary>
    internal static byte[] LabelZip(int count, (byte R, byte G, byte B)[]? colours = null, Action<ZipArchive>? tamper = null)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var random = new Random(3);
            for (var i = 0; i < count; i++)
            {
                var (image, labels) = LabelCase(random, 32, 32, i);
                SyntheticDataset.Add(zip, $"images/case-{i:D2}.png", image);
                SyntheticDataset.Add(zip, $"masks/case-{i:D2}.png", colours is null ? SyntheticDataset.Png(labels, 32, 32, 1) : Paint(labels, colours));
            }
            tamper?.Invoke(zip);
        }
        return buffer.ToArray();
    }

    internal static (byte[] Image, byte[] Labels) LabelCase(Random random, int w, int h, int i)
    {
        var rgb = new byte[w * h * 3];
        var labels = new byte[w * h];
        int r1 = 4 + random.Next(3), r2 = 4 + random.Next(3);
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            var label = (x - 9) * (x - 9) + (y - 16) * (y - 16) <= r1 * r1 ? 1 : (x - 23) * (x - 23) + (y - 16) * (y - 16) <= r2 * r2 && i % 3 != 2 ? 2 : 0;
            labels[y * w + x] = (byte)label;
            var p = (y * w + x) * 3;
            var noise = random.Next(0, 30);
            rgb[p] = (byte)(label == 1 ? 220 : 40 + noise);
            rgb[p + 1] = (byte)(label == 2 ? 220 : 40 + noise);
            rgb[p + 2] = (byte)(60 + noise);
        }
        return (SyntheticDataset.Png(rgb, w, h, 3), labels);
    }

    internal static byte[] Paint(byte[] labels, (byte R, byte G, byte B)[] colours)
    {
        var rgb = new byte[labels.Length * 3];
        for (var i = 0; i < labels.Length; i++) (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = colours[labels[i]];
        return SyntheticDataset.Png(rgb, 32, 32, 3);
    }

    private static MultipartFormDataContent Upload(string name, byte[] zip, string? classes = null)
    {
        var form = DatasetsApiTests.Upload(name, zip);
        if (classes is not null) form.Add(new StringContent(classes), "classes");
        return form;
    }

    private async Task<(HttpClient Client, Guid Id)> UploadAsync(byte[] zip, string? classes = null)
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Upload("labels", zip, classes));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (client, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    private static List<(int Value, string Name, string Colour)> Classes(JsonElement dataset) =>
        [.. dataset.GetProperty("classes").EnumerateArray().Select(c => (c.GetProperty("value").GetInt32(), c.GetProperty("name").GetString()!, c.GetProperty("colour").GetString()!))];

    [Fact]
    public async Task MultiClassLabelMapUploadIsAcceptedWithThreeClassesAndAClassMap()
    {
        var (client, id) = await UploadAsync(LabelZip(4));
        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(3, dataset.GetProperty("classCount").GetInt32());
        Assert.Equal([(0, "background", "#000000"), (1, "label 1", "#ffc400"), (2, "label 2", "#00c853")], Classes(dataset));
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var row = await db.Datasets.Include(d => d.Cases).SingleAsync(d => d.Id == id);
        Assert.Equal(3, row.Classes);
        Assert.Contains(row.Cases, c => c.LabelsPresent == 0b111);
        // The overlay paints the labels in the class colours.
        var overlay = await client.GetAsync($"/api/datasets/{id}/cases/{row.Cases[0].Id}/mask.png?size=0");
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
        var mask = ImageDecoder.Decode(await overlay.Content.ReadAsByteArrayAsync(), ImageLimits.None);
        Assert.Equal(3, mask.Bands);
        Assert.Equal([255f, 196f, 0f], mask.Pixels.AsSpan((16 * 32 + 9) * 3, 3).ToArray());
        Assert.Equal([0f, 200f, 83f], mask.Pixels.AsSpan((16 * 32 + 23) * 3, 3).ToArray());
    }

    [Fact]
    public async Task MultiClassColourMaskUploadIsMappedConsistentlyAndKeepsTheColours()
    {
        (byte, byte, byte)[] colours = [(0, 0, 0), (255, 0, 0), (0, 0, 255)]; // red label 1, blue label 2
        // Black first, then by 0xRRGGBB: blue (0x0000ff) is label 1, red (0xff0000) label 2 in every file.
        var (client, id) = await UploadAsync(LabelZip(4, colours));
        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(3, dataset.GetProperty("classCount").GetInt32());
        Assert.Equal(["#000000", "#0000ff", "#ff0000"], Classes(dataset).Select(c => c.Colour));
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        foreach (var c in await db.DatasetCases.Where(c => c.DatasetId == id).ToListAsync())
        {
            var stored = MaskReader.ReadLabels(Path.Combine(factory.DataRoot, "datasets", id.ToString("N"), c.MaskPath));
            Assert.Equal(2, stored.Pixels[16 * 32 + 9]); // red disc
            if (c.Name != "case-02") Assert.Equal(1, stored.Pixels[16 * 32 + 23]); // blue disc
        }

        // A supplied class map orders the colours and names the classes.
        const string map = """[{"value":0,"name":"background","colour":"#000000"},{"value":1,"name":"benign","colour":"#FF0000"},{"value":2,"name":"malignant","colour":"#0000ff"}]""";
        var (_, named) = await UploadAsync(LabelZip(4, colours), map);
        var withMap = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{named}");
        Assert.Equal([(0, "background", "#000000"), (1, "benign", "#FF0000"), (2, "malignant", "#0000ff")], Classes(withMap));
        var first = await db.DatasetCases.FirstAsync(c => c.DatasetId == named);
        Assert.Equal(1, MaskReader.ReadLabels(Path.Combine(factory.DataRoot, "datasets", named.ToString("N"), first.MaskPath)).Pixels[16 * 32 + 9]);

        // Two colours (black and one) are a binary dataset, with its colour kept.
        var (_, binary) = await UploadAsync(LabelZip(3, [(0, 0, 0), (0, 255, 0), (0, 255, 0)]));
        var b = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{binary}");
        Assert.Equal(1, b.GetProperty("classCount").GetInt32());
        Assert.Equal(["#000000", "#00ff00"], Classes(b).Select(c => c.Colour));
    }

    [Fact]
    public async Task MultiClassAntiAliasedColourMaskIsRefusedNamingTheFileAndStoresNothing()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        int Count() => factory.Services.CreateScope().ServiceProvider.GetRequiredService<MedSegDbContext>().Datasets.Count();
        var before = Count();
        var smooth = new byte[32 * 32 * 3];
        for (var i = 0; i < 32 * 32; i++) (smooth[3 * i], smooth[3 * i + 1], smooth[3 * i + 2]) = ((byte)(i % 64 * 4), (byte)(i / 64 * 8), 0);
        var zip = LabelZip(3, [(0, 0, 0), (255, 0, 0), (0, 0, 255)], z =>
        {
            SyntheticDataset.Add(z, "images/smooth.png", LabelCase(new Random(1), 32, 32, 0).Image);
            SyntheticDataset.Add(z, "masks/smooth.png", SyntheticDataset.Png(smooth, 32, 32, 3));
        });
        var response = await client.PostAsync("/api/datasets", Upload("smooth", zip));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray()
            .Select(e => (File: e.GetProperty("file").GetString()!, Problem: e.GetProperty("problem").GetString()!)).ToList();
        var only = Assert.Single(errors);
        Assert.Equal("masks/smooth.png", only.File);
        Assert.Contains("more than 32 distinct colours", only.Problem);
        Assert.Contains("anti-alias", only.Problem);
        Assert.Equal(before, Count());
        var staging = Path.Combine(factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);

        // A supplied class map that does not fit the masks is a problem of the field.
        var bad = await client.PostAsync("/api/datasets", Upload("bad map", LabelZip(3),
            """[{"value":0,"name":"background","colour":"#000000"},{"value":1,"name":"lesion","colour":"#ff0000"}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0];
        Assert.Equal("classes", problem.GetProperty("file").GetString());
        Assert.Contains("3 entries", problem.GetProperty("problem").GetString());
        var badColour = await client.PostAsync("/api/datasets", Upload("bad colour", LabelZip(3, [(0, 0, 0), (255, 0, 0), (0, 0, 255)]),
            """[{"value":0,"name":"background","colour":"#000000"},{"value":1,"name":"benign","colour":"#ff0000"},{"value":2,"name":"malignant","colour":"blue"}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, badColour.StatusCode);
        var colourProblem = Assert.Single((await badColour.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray());
        Assert.Equal("classes", colourProblem.GetProperty("file").GetString());
        Assert.Contains("'malignant'", colourProblem.GetProperty("problem").GetString());
        Assert.Equal(before, Count());
    }

    [Fact]
    public async Task MultiClassPutClassesStoresTheMapNamesABadColourAndRefusesAReadOnlySharee()
    {
        var (client, id) = await UploadAsync(LabelZip(3));
        object[] map = [new { value = 0, name = "background", colour = "#000000" }, new { value = 1, name = "benign", colour = "#123456" },
            new { value = 2, name = "malignant", colour = "#abcdef" }];
        var ok = await client.PutAsJsonAsync($"/api/datasets/{id}/classes", map);
        Assert.True(ok.StatusCode == HttpStatusCode.OK, await ok.Content.ReadAsStringAsync());
        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal([(0, "background", "#000000"), (1, "benign", "#123456"), (2, "malignant", "#abcdef")], Classes(dataset));

        object[] badColour = [new { value = 0, name = "background", colour = "#000000" }, new { value = 1, name = "benign", colour = "red" },
            new { value = 2, name = "malignant", colour = "#abcdef" }];
        var bad = await client.PutAsJsonAsync($"/api/datasets/{id}/classes", badColour);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var message = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("classes")[0].GetString();
        Assert.Contains("'benign'", message);
        Assert.Contains("#rrggbb", message);
        Assert.Contains("'red'", message);

        const string email = "sharee-classes@medseg.test";
        string shareeId;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var user = new ApplicationUser { UserName = email, Email = email };
            Assert.True((await users.CreateAsync(user, "Sharee-Pass-1")).Succeeded);
            shareeId = user.Id;
        }
        var sharee = await factory.CreateAuthenticatedClientAsync(email, "Sharee-Pass-1");
        Assert.Equal(HttpStatusCode.NotFound, (await sharee.PutAsJsonAsync($"/api/datasets/{id}/classes", map)).StatusCode);
        var share = await client.PostAsJsonAsync($"/api/datasets/{id}/shares", new { userId = shareeId });
        Assert.True(share.IsSuccessStatusCode, await share.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await sharee.PutAsJsonAsync($"/api/datasets/{id}/classes", map)).StatusCode);
        var seen = await sharee.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal("benign", Classes(seen)[1].Name);
    }

    [Fact]
    public async Task MultiClassExperimentTrainsPushesAndReviewsPerClassDice()
    {
        var (client, datasetId) = await UploadAsync(LabelZip(10));
        var bce = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unet", epochs = 2, batchSize = 4, imageSize = 32, learningRate = 0.01, loss = "bce" });
        Assert.Equal(HttpStatusCode.BadRequest, bce.StatusCode);
        var lossError = (await bce.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("loss")[0].GetString();
        Assert.Contains("3-class", lossError);
        Assert.Contains("dice+ce", lossError);

        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 2, batchSize = 4, imageSize = 32, learningRate = 0.01 });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var experiment = await ExperimentsApiTests.WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));
        Assert.Equal("dice+ce", experiment.GetProperty("config").GetProperty("loss").GetString());
        Assert.Equal(3, experiment.GetProperty("classCount").GetInt32());
        var metrics = experiment.GetProperty("metrics");
        Assert.Equal(2, metrics.GetArrayLength());
        Assert.All(metrics.EnumerateArray(), m =>
        {
            var perClass = m.GetProperty("classDice").EnumerateArray().Select(d => d.GetDouble()).ToList();
            Assert.Equal(2, perClass.Count);
            Assert.All(perClass, d => Assert.InRange(d, 0, 1));
            Assert.Equal(m.GetProperty("validationDice").GetDouble(), perClass.Average(), 6);
        });
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            Assert.All(await db.EpochMetrics.Where(m => m.ExperimentId == id).ToListAsync(), m => Assert.NotNull(m.ClassDiceJson));
        }

        var cases = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/cases");
        Assert.Equal(2, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var perClass = c.GetProperty("classDice").EnumerateArray().Select(d => d.GetDouble()).ToList();
            Assert.Equal(2, perClass.Count);
            Assert.Equal(c.GetProperty("dice").GetDouble(), perClass.Average(), 6);
            // Per-class rows of every metric: their Dice is the class's Dice, their FP and FN add up to the case's.
            var rows = c.GetProperty("classes").EnumerateArray().ToList();
            Assert.Equal([1, 2], rows.Select(r => r.GetProperty("class").GetInt32()));
            Assert.Equal(perClass, rows.Select(r => r.GetProperty("dice").GetDouble()));
            Assert.Equal(c.GetProperty("fp").GetInt64(), rows.Sum(r => r.GetProperty("fp").GetInt64()));
            Assert.Equal(c.GetProperty("fn").GetInt64(), rows.Sum(r => r.GetProperty("fn").GetInt64()));
            Assert.All(rows, r => Assert.True(r.TryGetProperty("hd95", out _) && r.TryGetProperty("assdMm", out _)));
        }
        var comparison = await client.GetAsync(cases[0].GetProperty("comparisonUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, comparison.StatusCode);
        var preview = await client.GetAsync(experiment.GetProperty("previews")[0].GetProperty("predictionUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Equal(3, ImageDecoder.Decode(await preview.Content.ReadAsByteArrayAsync(), ImageLimits.None).Bands); // painted in class colours
    }

    [Fact]
    public async Task MultiClassEpochIsStoredAndPushedWithItsPerClassDice()
    {
        var (client, datasetId) = await UploadAsync(LabelZip(3));
        Guid id;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var owner = await db.Datasets.Where(d => d.Id == datasetId).Select(d => d.OwnerId).SingleAsync();
            var e = new Experiment { Id = Guid.NewGuid(), Name = "push", OwnerId = owner, DatasetId = datasetId, Model = "unext", Epochs = 3, ConfigJson = "{}" };
            db.Experiments.Add(e);
            await db.SaveChangesAsync();
            id = e.Id;
        }
        var notifier = new RecordingNotifier();
        var observer = new JobTrainingObserver(id, 3, notifier, factory.Services.GetRequiredService<IServiceScopeFactory>(), NullLogger.Instance);
        observer.OnEpoch(new EpochSummary(1, 0.9, 0.8, 0.55, 0.4, 1e-3, 1.5, true, [0.7, 0.4]));
        var pushed = Assert.Single(notifier.Epochs);
        Assert.Equal([0.7, 0.4], pushed.Point.ClassDice);
        var detail = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");
        Assert.Equal([0.7, 0.4], detail.GetProperty("metrics")[0].GetProperty("classDice").EnumerateArray().Select(d => d.GetDouble()));
    }

    private sealed class RecordingNotifier : IExperimentNotifier
    {
        public List<EpochCompletedMessage> Epochs { get; } = [];
        public Task BatchProgressAsync(BatchProgressMessage message) => Task.CompletedTask;
        public Task EpochCompletedAsync(EpochCompletedMessage message)
        {
            lock (Epochs) Epochs.Add(message);
            return Task.CompletedTask;
        }
        public Task PreviewsUpdatedAsync(PreviewsUpdatedMessage message) => Task.CompletedTask;
        public Task StatusChangedAsync(StatusChangedMessage message) => Task.CompletedTask;
    }
}
