using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Engine.Data;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

[Collection(AppCollection.Name)]
public sealed class DatasetsApiTests : IClassFixture<DatasetsApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public DatasetsApiTests(App app) => factory = app.Factory;

    internal static MultipartFormDataContent Upload(string name, byte[] zip, string fileName = "data.zip") => new()
    {
        { new StringContent(name), "name" },
        { new ByteArrayContent(zip), "file", fileName },
    };

    [Fact]
    public async Task UploadOfVolumesWithAnIncompleteDatasetJsonIsRefusedNamingIt()
    {
        // Volumes are imported (VolumeUploadTests); a dataset.json that names no channels is one problem, filed under its path in the zip.
        var client = await factory.CreateAuthenticatedClientAsync();
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            SyntheticDataset.Add(zip, "Task04/dataset.json", System.Text.Encoding.UTF8.GetBytes("{\"labels\": {\"0\": \"background\"}}"));
            SyntheticDataset.Add(zip, "Task04/imagesTr/case_001.nii.gz", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
            SyntheticDataset.Add(zip, "Task04/labelsTr/case_001.nii.gz", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
        }
        var response = await client.PostAsync("/api/datasets", Upload("volumes", buffer.ToArray()));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(1, errors.GetArrayLength());
        Assert.Equal("Task04/dataset.json", errors[0].GetProperty("file").GetString());
        Assert.Contains("channel_names", errors[0].GetProperty("problem").GetString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(factory.DataRoot, "staging")));
    }

    [Fact]
    public async Task UploadWithoutSignInIsRefused()
    {
        var client = factory.CreateClient();
        var response = await client.PostAsync("/api/datasets", Upload("x", SyntheticDataset.Zip(2, 32)));
        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TokenWithWrongPasswordIsRefused()
    {
        var client = factory.CreateClient();
        var response = await client.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = "wrong-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ValidUploadCreatesADatasetWithEveryCase()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Upload("discs", SyntheticDataset.Zip(6, 32, topFolder: "discs")));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(6, created.GetProperty("cases").GetInt32());
        var id = created.GetProperty("id").GetGuid();

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal("discs", dataset.GetProperty("name").GetString());
        Assert.Equal(6, dataset.GetProperty("cases").GetInt32());

        var cases = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/cases");
        Assert.Equal(6, cases.GetArrayLength());
        var caseId = cases[0].GetProperty("id").GetGuid();
        var overlay = await client.GetAsync($"/api/datasets/{id}/cases/{caseId}/overlay.png?size=64");
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
        Assert.Equal("image/png", overlay.Content.Headers.ContentType?.MediaType);
        var bytes = await overlay.Content.ReadAsByteArrayAsync();
        Assert.Equal(0x89, bytes[0]);
        Assert.True(Directory.Exists(Path.Combine(factory.DataRoot, "datasets", id.ToString("N"), "images")));
    }

    [Fact]
    public async Task UploadOfBusiLikeZipWithClassFoldersAndSeveralMasksCommitsEveryCase()
    {
        // BUSI as distributed: Dataset_BUSI_with_GT/<class>/<class> (N).png beside its _mask.png (and _mask_1.png).
        var client = await factory.CreateAuthenticatedClientAsync();
        var random = new Random(11);
        var parts = new List<byte[]>();
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (label, count) in new[] { ("benign", 3), ("malignant", 2), ("normal", 1) })
            {
                for (var i = 1; i <= count; i++)
                {
                    var (image, mask) = SyntheticDataset.Case(random, 32, 32);
                    var stem = $"Dataset_BUSI_with_GT/{label}/{label} ({i})";
                    SyntheticDataset.Add(zip, stem + ".png", image);
                    SyntheticDataset.Add(zip, stem + "_mask.png", label == "normal" ? SyntheticDataset.Png(new byte[32 * 32], 32, 32, 1) : mask);
                    if (stem.EndsWith("benign (2)", StringComparison.Ordinal)) parts.Add(mask);
                }
            }
            var (_, second) = SyntheticDataset.Case(random, 32, 32);
            SyntheticDataset.Add(zip, "Dataset_BUSI_with_GT/benign/benign (2)_mask_1.png", second);
            parts.Add(second);
        }

        var response = await client.PostAsync("/api/datasets", Upload("busi-like", buffer.ToArray(), "Dataset_BUSI_with_GT.zip"));

        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(6, created.GetProperty("cases").GetInt32());
        var id = created.GetProperty("id").GetGuid();
        var cases = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/cases");
        Assert.Equal(["benign (1)", "benign (2)", "benign (3)", "malignant (1)", "malignant (2)", "normal (1)"],
            cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
        // Committed as images/<name>.png and masks/<name>.png; the two masks of benign (2) as their union.
        var folder = Path.Combine(factory.DataRoot, "datasets", id.ToString("N"));
        Assert.True(File.Exists(Path.Combine(folder, "images", "malignant (2).png")));
        Assert.True(File.Exists(Path.Combine(folder, "masks", "malignant (2).png")));
        var masks = parts.Select(p => MaskReader.Binarise(ImageDecoder.Decode(p, ImageLimits.Default, "part.png")).Mask!.Pixels).ToList();
        var union = MaskReader.Read(Path.Combine(folder, "masks", "benign (2).png")).Pixels;
        Assert.Equal(masks[0].Select((v, i) => (byte)(v | masks[1][i])).ToArray(), union);
        Assert.NotEqual(masks[0], union);
        var overlay = await client.GetAsync($"/api/datasets/{id}/cases/{cases[0].GetProperty("id").GetGuid()}/overlay.png?size=32");
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
        var staging = Path.Combine(factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
    }

    [Fact]
    public async Task RefusedUploadReportsEveryBadFileAndStoresNothing()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        int DatasetCount() => factory.Services.CreateScope().ServiceProvider.GetRequiredService<MedSegDbContext>().Datasets.Count();
        var before = DatasetCount();
        var datasetsDir = Path.Combine(factory.DataRoot, "datasets");
        var foldersBefore = Directory.Exists(datasetsDir) ? Directory.GetDirectories(datasetsDir).Length : 0;

        var zip = SyntheticDataset.Zip(3, 32, tamper: z =>
        {
            SyntheticDataset.Add(z, "images/orphan.png", SyntheticDataset.Case(new Random(1), 32, 32).Image);
            SyntheticDataset.Add(z, "images/broken.png", [1, 2, 3, 4]);
            SyntheticDataset.Add(z, "masks/broken.png", SyntheticDataset.MaskWithValue(32, 32, 255));
            SyntheticDataset.Add(z, "images/wrongsize.png", SyntheticDataset.Case(new Random(2), 32, 32).Image);
            SyntheticDataset.Add(z, "masks/wrongsize.png", SyntheticDataset.MaskWithValue(16, 16, 255));
            SyntheticDataset.Add(z, "images/labels.png", SyntheticDataset.Case(new Random(3), 32, 32).Image);
            SyntheticDataset.Add(z, "masks/labels.png", SyntheticDataset.MaskWithValue(32, 32, 40));
        });
        var response = await client.PostAsync("/api/datasets", Upload("bad", zip));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors").EnumerateArray()
            .Select(e => (File: e.GetProperty("file").GetString()!, Problem: e.GetProperty("problem").GetString()!)).ToList();
        Assert.Contains(errors, e => e.File.Contains("orphan"));
        Assert.Contains(errors, e => e.File.Contains("broken"));
        Assert.Contains(errors, e => e.File.Contains("wrongsize") && e.Problem.Contains("16"));
        Assert.Contains(errors, e => e.File.Contains("labels") && e.Problem.Contains("40"));
        Assert.DoesNotContain(errors, e => e.File.Contains("case-0"));

        Assert.Equal(before, DatasetCount());
        Assert.Equal(foldersBefore, Directory.Exists(datasetsDir) ? Directory.GetDirectories(datasetsDir).Length : 0);
        var staging = Path.Combine(factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
    }

    [Fact]
    public async Task NonZipUploadIsRefusedWithAHint()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Upload("junk", "not a zip at all"u8.ToArray(), "data.zip"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("zip", problem.GetProperty("errors")[0].GetProperty("problem").GetString());
    }

    [Fact]
    public async Task ZipEntriesEscapingTheArchiveAreRefused()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var zip = SyntheticDataset.Zip(2, 32, tamper: z => SyntheticDataset.Add(z, "../../evil.png", [1]));
        var response = await client.PostAsync("/api/datasets", Upload("evil", zip));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(File.Exists(Path.Combine(factory.DataRoot, "evil.png")));
    }

    [Fact]
    public async Task UnknownDatasetIsNotFound()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.GetAsync($"/api/datasets/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task CasesFilterSortAndCountTheirMatches()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var zip = SyntheticDataset.Zip(5, 32, tamper: z =>
        {
            var (image, _) = SyntheticDataset.Case(new Random(9), 32, 32);
            SyntheticDataset.Add(z, "images/blank.png", image);
            SyntheticDataset.Add(z, "masks/blank.png", SyntheticDataset.Png(new byte[32 * 32], 32, 32, 1));
        });
        var response = await client.PostAsync("/api/datasets", Upload("filters", zip));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        async Task<(string[] Names, string Total)> CasesAsync(string query)
        {
            var r = await client.GetAsync($"/api/datasets/{id}/cases?{query}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var names = (await r.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToArray();
            return (names, r.Headers.GetValues("X-Total-Count").Single());
        }

        var empty = await CasesAsync("empty=true");
        Assert.Equal(["blank"], empty.Names);
        Assert.Equal("1", empty.Total);
        Assert.Equal("5", (await CasesAsync("empty=false")).Total);
        Assert.Equal("5", (await CasesAsync("label=1")).Total);
        Assert.Equal(["case-03"], (await CasesAsync("search=SE-03")).Names);
        Assert.Equal("blank", (await CasesAsync("sort=foreground")).Names[0]);
        Assert.Equal("blank", (await CasesAsync("sort=-foreground")).Names[^1]);
        var (page, total) = await CasesAsync("skip=2&take=2");
        Assert.Equal(2, page.Length);
        Assert.Equal("6", total);

        var bad = await client.GetAsync($"/api/datasets/{id}/cases?sort=size");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("name, foreground or -foreground", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("sort")[0].GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/datasets/{id}/cases?side=test")).StatusCode);
    }

    [Fact]
    public async Task TheLabelLayerIsATransparentPngInTheClassColour()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Upload("layer", SyntheticDataset.Zip(2, 32)));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var caseId = (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/cases"))[0].GetProperty("id").GetGuid();

        foreach (var style in new[] { "fill", "contour" })
        {
            var png = await client.GetByteArrayAsync($"/api/datasets/{id}/cases/{caseId}/labels.png?size=0&style={style}");
            using var image = NetVips.Image.NewFromBuffer(png);
            Assert.Equal(4, image.Bands);
            var pixels = image.WriteToMemory<byte>();
            var opaque = Enumerable.Range(0, pixels.Length / 4).Where(i => pixels[4 * i + 3] == 255).ToList();
            Assert.NotEmpty(opaque);
            Assert.All(opaque, i => Assert.Equal(new byte[] { 0xff, 0xc4, 0x00 }, pixels[(4 * i)..(4 * i + 3)]));
            Assert.Contains(pixels.Where((_, k) => k % 4 == 3), a => a == 0);
        }
        var none = await client.GetByteArrayAsync($"/api/datasets/{id}/cases/{caseId}/labels.png?size=0&classes=");
        using var hidden = NetVips.Image.NewFromBuffer(none);
        Assert.All(hidden.WriteToMemory<byte>().Where((_, k) => k % 4 == 3), a => Assert.Equal(0, a));
    }

    [Fact]
    public async Task CasesFilterBySideOfASavedSplit()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Upload("split-sides", SyntheticDataset.Zip(10, 16)));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var split = await client.PostAsJsonAsync($"/api/datasets/{id}/splits", new { kind = "random", seed = 2, validationFraction = 0.3, testFraction = 0.2 });
        Assert.True(split.StatusCode == HttpStatusCode.Created, await split.Content.ReadAsStringAsync());
        var created = await split.Content.ReadFromJsonAsync<JsonElement>();
        var splitId = created.GetProperty("id").GetGuid();
        var counts = created.GetProperty("folds")[0];

        async Task<string[]> SideAsync(string side) =>
            [.. (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/cases?splitId={splitId}&fold=0&side={side}&take=100"))
                .EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];
        var (train, validation, test) = (await SideAsync("train"), await SideAsync("validation"), await SideAsync("test"));
        Assert.Equal(counts.GetProperty("train").GetInt32(), train.Length);
        Assert.Equal(counts.GetProperty("validation").GetInt32(), validation.Length);
        Assert.Equal(counts.GetProperty("test").GetInt32(), test.Length);
        Assert.Equal(10, train.Concat(validation).Concat(test).Distinct().Count()); // the three sides partition the cases
    }
}
