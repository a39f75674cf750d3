using Bunit;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>The version fingerprint: values on a hand-checkable dataset, its JSON, and the API that serves it.</summary>
[Collection(AppCollection.Name)]
public sealed class DatasetFingerprintTests : IClassFixture<DatasetFingerprintTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public DatasetFingerprintTests(App app) => factory = app.Factory;

    /// <summary>Grey images of 10 with foreground 200 where the mask is set: a: 4×4, left half foreground; b: 4×4, one pixel;
    /// c: 8×2, empty mask.</summary>
    private static (string Root, List<DatasetCase> Rows) HandDataset(TempDirectory dir)
    {
        Directory.CreateDirectory(Path.Combine(dir.Path, "images"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "masks"));
        var rows = new List<DatasetCase>();
        void Add(string name, int w, int h, Func<int, int, bool> fg, string? group)
        {
            var image = new byte[w * h];
            var mask = new byte[w * h];
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var f = fg(x, y);
                    image[y * w + x] = f ? (byte)200 : (byte)10;
                    mask[y * w + x] = f ? (byte)255 : (byte)0;
                }
            File.WriteAllBytes(Path.Combine(dir.Path, "images", name + ".png"), SyntheticDataset.Png(image, w, h, 1));
            File.WriteAllBytes(Path.Combine(dir.Path, "masks", name + ".png"), SyntheticDataset.Png(mask, w, h, 1));
            var fraction = mask.Count(m => m != 0) / (double)(w * h);
            rows.Add(new DatasetCase
            {
                Name = name, ImagePath = $"images/{name}.png", MaskPath = $"masks/{name}.png", Width = w, Height = h, ForegroundFraction = fraction,
                ImageSha256 = "", MaskSha256 = "", GroupKey = group, LabelsPresent = (fraction > 0 ? 2 : 0) | (fraction < 1 ? 1 : 0),
                SpacingX = name == "a" ? 0.5 : null, SpacingY = name == "a" ? 0.8 : null,
            });
        }
        Add("a", 4, 4, (x, _) => x < 2, "p1");
        Add("b", 4, 4, (x, y) => x == 0 && y == 0, "p1");
        Add("c", 8, 2, (_, _) => false, null);
        return (dir.Path, rows);
    }

    [Fact]
    public void FingerprintValuesOfAHandCheckableDataset()
    {
        using var dir = new TempDirectory();
        var (root, rows) = HandDataset(dir);
        var measured = DatasetFingerprint.Compute(
            [.. rows.Select(r => new TrainingCase(r.Name, Path.Combine(root, r.ImagePath), Path.Combine(root, r.MaskPath)))]);

        var f = VersionFingerprint.Build(1, rows, measured, rows.Count, classes: 1);

        Assert.Equal((3, 3, 1), (f.Cases, f.SampledCases, f.Channels));
        Assert.Equal(new Spread(4, 4, 8), f.Width);
        Assert.Equal(new Spread(2, 4, 4), f.Height);
        Assert.Equal(new Spread(1, 1, 4), f.AspectRatio);
        // √(W·H) = 4 for every case: one bin.
        Assert.Equal([new HistogramBin(4, 5, 3)], f.SizeHistogram);
        Assert.Equal(new SizeCount(4, 4, 2), f.CommonSizes[0]);
        Assert.Equal(1, f.EmptyMasks);
        // 9 foreground pixels of 48: 8 (a) + 1 (b).
        Assert.Equal(0, f.Classes[0].Value);
        Assert.Equal(39 / 48.0, f.Classes[0].PixelShare, 9);
        Assert.Equal(9 / 48.0, f.Classes[1].PixelShare, 9);
        Assert.Equal((3, 2), (f.Classes[0].Cases, f.Classes[1].Cases));
        var all = f.Intensity[0].All;
        Assert.Equal((10, 200), (all.Min, all.Max));
        Assert.Equal((9 * 200 + 39 * 10) / 48.0, all.Mean, 6);
        var fg = f.Intensity[0].Foreground!;
        Assert.Equal((200, 200, 200, 0), (fg.Min, fg.Max, fg.Mean, fg.Std));
        Assert.Equal(new SpacingSummary(1, new Spread(0.5, 0.5, 0.5), new Spread(0.8, 0.8, 0.8)), f.Spacing);
        // p1 holds a and b; c has no group and counts as its own.
        Assert.Equal(2, f.Groups.Groups);
        Assert.Equal(1, f.Groups.Ungrouped);
        Assert.Equal(new Spread(1, 1.5, 2), f.Groups.CasesPerGroup);
    }

    [Fact]
    public void FingerprintJsonReadsBackAsWritten()
    {
        using var dir = new TempDirectory();
        var (root, rows) = HandDataset(dir);
        var measured = DatasetFingerprint.Compute(
            [.. rows.Select(r => new TrainingCase(r.Name, Path.Combine(root, r.ImagePath), Path.Combine(root, r.MaskPath)))]);
        var f = VersionFingerprint.Build(2, rows, measured, rows.Count, classes: 1);

        var json = f.Serialize();
        var back = VersionFingerprint.Parse(json);

        Assert.NotNull(back);
        Assert.Equal(json, back.Serialize());
        Assert.Contains("\"emptyMasks\":1", json);
        Assert.Null(VersionFingerprint.Parse("{not json"));
        Assert.Null(VersionFingerprint.Parse(null));
    }

    [Fact]
    public void SampleSpreadsEvenlyAndKeepsSmallSetsWhole()
    {
        var cases = Enumerable.Range(0, 800).ToList();
        var sample = FingerprintService.Sample(cases, 200);
        Assert.Equal(200, sample.Count);
        Assert.Equal([0, 4, 8], sample.Take(3));
        Assert.Equal(796, sample[^1]);
        Assert.Same(cases, FingerprintService.Sample(cases, 1000));
    }

    [Fact]
    public async Task GetIncludesTheFingerprintAndStoresIt()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(5, 32)));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");

        Assert.Equal(5, dataset.GetProperty("cases").GetInt32()); // existing fields stay
        var fingerprint = dataset.GetProperty("fingerprint");
        Assert.Equal(5, fingerprint.GetProperty("cases").GetInt32());
        Assert.Equal(32, fingerprint.GetProperty("width").GetProperty("median").GetDouble());
        Assert.Equal(3, fingerprint.GetProperty("channels").GetInt32());
        Assert.Equal(3, fingerprint.GetProperty("intensity").GetArrayLength());
        Assert.Equal(0, fingerprint.GetProperty("emptyMasks").GetInt32());
        Assert.Equal(5, fingerprint.GetProperty("classes")[1].GetProperty("cases").GetInt32());
        using var scope = factory.Services.CreateScope();
        await using var db = await scope.ServiceProvider.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync();
        var stored = await db.DatasetVersions.SingleAsync(v => v.DatasetId == id);
        Assert.Equal(5, VersionFingerprint.Parse(stored.FingerprintJson)!.Cases);
    }

    [Fact]
    public async Task DatasetCommittedWithoutAFingerprintGetsOneOnFirstView()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("old", SyntheticDataset.Zip(3, 32)));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var fingerprints = factory.Services.GetRequiredService<FingerprintService>();
        await fingerprints.EnsureAsync(id); // whatever the worker did, then forget it as a dataset stored before fingerprints
        using var scope = factory.Services.CreateScope();
        var contexts = scope.ServiceProvider.GetRequiredService<IDbContextFactory<MedSegDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync())
            await db.DatasetVersions.Where(v => v.DatasetId == id).ExecuteUpdateAsync(s => s.SetProperty(v => v.FingerprintJson, (string?)null));

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");

        Assert.Equal(3, dataset.GetProperty("fingerprint").GetProperty("cases").GetInt32());
        await using (var db = await contexts.CreateDbContextAsync())
            Assert.NotNull((await db.DatasetVersions.SingleAsync(v => v.DatasetId == id)).FingerprintJson);
    }

    [Fact]
    public async Task LaunchRefusesACtWindowThatIsHalfGivenOrWithoutCt()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("window", SyntheticDataset.Zip(3, 32)));
        var datasetId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var half = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 1, batchSize = 1, imageSize = 32, learningRate = 0.001, normalization = "ct", windowLow = -160.0,
        });
        Assert.Equal(HttpStatusCode.BadRequest, half.StatusCode);
        Assert.Contains("both window bounds", (await half.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("windowLow")[0].GetString());

        var notCt = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 1, batchSize = 1, imageSize = 32, learningRate = 0.001, normalization = "dataset",
            windowLow = 0.0, windowHigh = 80.0,
        });
        Assert.Equal(HttpStatusCode.BadRequest, notCt.StatusCode);
        Assert.Contains("only to the ct normalization", (await notCt.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("windowLow")[0].GetString());
    }

    [Fact]
    public async Task DicomImagesWithPngMasksUploadWithTheirSpacingAndHounsfieldUnits()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var mask = new byte[16 * 16];
            for (var i = 0; i < 40; i++) mask[i] = 255;
            SyntheticDataset.Add(zip, "ct/images/slice-1.dcm", DicomWriter.Ct(16, 16).Write());
            SyntheticDataset.Add(zip, "ct/masks/slice-1.png", SyntheticDataset.Png(mask, 16, 16, 1));
            SyntheticDataset.Add(zip, "ct/images/1.2.826.0.7", DicomWriter.Ct(16, 16, DicomWriter.ImplicitLittle).Write());
            SyntheticDataset.Add(zip, "ct/masks/1.2.826.0.7.png", SyntheticDataset.Png(mask, 16, 16, 1));
        }

        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("ct", buffer.ToArray()));

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        using var scope = factory.Services.CreateScope();
        await using var db = await scope.ServiceProvider.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync();
        var cases = await db.DatasetCases.Where(c => c.DatasetId == id).OrderBy(c => c.Name).ToListAsync();
        Assert.Equal(["1.2.826.0.7", "slice-1"], cases.Select(c => c.Name));
        Assert.Equal(["images/1.2.826.0.7.dcm", "images/slice-1.dcm"], cases.Select(c => c.ImagePath));
        Assert.All(cases, c => Assert.Equal((0.75, 0.5), (c.SpacingX, c.SpacingY)));
        var fingerprint = (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}")).GetProperty("fingerprint");
        Assert.Equal(2, fingerprint.GetProperty("spacing").GetProperty("cases").GetInt32());
        var all = fingerprint.GetProperty("intensity")[0].GetProperty("all");
        Assert.Equal(-1024, all.GetProperty("min").GetDouble());
        Assert.Equal(255 - 1024, all.GetProperty("max").GetDouble());
        Assert.True(fingerprint.GetProperty("sixteenBitOrMore").GetBoolean());
        var thumbnail = await client.GetAsync($"/api/datasets/{id}/cases/{cases[0].Id}/overlay.png?size=16");
        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);

        var compressed = new MemoryStream();
        using (var zip = new ZipArchive(compressed, ZipArchiveMode.Create, leaveOpen: true))
        {
            SyntheticDataset.Add(zip, "images/a.dcm", (DicomWriter.Ct(16, 16) with { TransferSyntax = DicomWriter.JpegLossless }).Write());
            SyntheticDataset.Add(zip, "masks/a.png", SyntheticDataset.Png(new byte[256], 16, 16, 1));
        }
        var refused = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("jpeg", compressed.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors")[0];
        Assert.Equal("images/a.dcm", error.GetProperty("file").GetString());
        Assert.Contains("dcmdjpeg", error.GetProperty("problem").GetString());
    }
}

/// <summary>The fingerprint's charts on the dataset page (bUnit).</summary>
public sealed class FingerprintViewTests
{
    [Fact]
    public async Task FingerprintViewShowsSizesClassesInTheirColoursEmptyMasksSpacingAndGroups()
    {
        var f = new VersionFingerprint(2, 10, 10, DateTimeOffset.UtcNow, new Spread(300, 512, 600), new Spread(280, 480, 600), new Spread(0.8, 1.07, 1.5),
            [new HistogramBin(300, 400, 3), new HistogramBin(400, 500, 7)], [new SizeCount(512, 480, 6)],
            new SpacingSummary(10, new Spread(0.7, 0.7, 0.7), new Spread(0.7, 0.7, 0.7)), 1, true,
            [new ChannelIntensity(0, new IntensityStats(-300, 400, -1000, 1200, -1024, 3071), new IntensityStats(40, 30, -20, 120, -50, 200))],
            [new ClassBalance(0, 0.95, 10), new ClassBalance(1, 0.05, 8)], 2,
            new GroupSummary(3, 0, new Spread(2, 3, 5), [new HistogramBin(2, 3, 1), new HistogramBin(3, 4, 1), new HistogramBin(5, 6, 1)]));
        IReadOnlyList<ClassEntry> map = [new(0, "background", "#000000"), new(1, "liver", "#00c853")];
        await using var ctx = BunitSetup.NewContext();

        var cut = ctx.Render<MedSeg.Web.Features.Datasets.Pages.FingerprintView>(p => p
            .Add(x => x.Fingerprint, f).Add(x => x.ClassMap, map).Add(x => x.Version, 2));

        Assert.Contains("(version 2)", cut.Markup);
        Assert.Contains("2 of 10", cut.Find("[data-testid=fingerprint-empty]").TextContent);
        Assert.Contains("0.7 × 0.7", cut.Find("[data-testid=fingerprint-spacing]").TextContent);
        Assert.Contains("512 × 480", cut.Find("[data-testid=fingerprint-median-size]").TextContent);
        Assert.Contains("3, 2–5 cases each", cut.Find("[data-testid=fingerprint-groups]").TextContent);
        Assert.Equal(2, cut.FindAll("[data-testid=fingerprint-sizes] [data-bar]").Count);
        var liver = cut.Find("[data-testid=fingerprint-classes] [data-bar=liver] rect");
        Assert.Equal("#00c853", liver.GetAttribute("fill"));
        Assert.Contains("liver 8 of 10", cut.Find("[data-testid=fingerprint-class-cases] svg").GetAttribute("aria-label"));
        Assert.Contains("HU", cut.Find("[data-testid=fingerprint-intensity]").TextContent);
        Assert.Contains("foreground mean 40", cut.Find("[data-testid=fingerprint-intensity] svg").GetAttribute("aria-label"));
        Assert.Equal(3, cut.FindAll("[data-testid=fingerprint-per-group] [data-bar]").Count);
        Assert.Contains("All 10 cases measured.", cut.Markup);
    }
}
