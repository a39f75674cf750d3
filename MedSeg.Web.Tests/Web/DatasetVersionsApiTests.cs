using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Dataset versions (cases added and removed), saved splits, and experiments that choose a split and a fold.</summary>
[Collection(AppCollection.Name)]
public sealed class DatasetVersionsApiTests(DatasetVersionsApiTests.App app) : IClassFixture<DatasetVersionsApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory = app.Factory;

    /// <summary>A zip of tiny generated cases with these names (images/NAME.png, masks/NAME.png).</summary>
    internal static byte[] ZipOf(IEnumerable<string> names, int seed = 11)
    {
        var random = new Random(seed);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var name in names)
            {
                var (image, mask) = SyntheticDataset.Case(random, 32, 32);
                SyntheticDataset.Add(zip, $"images/{name}.png", image);
                SyntheticDataset.Add(zip, $"masks/{name}.png", mask);
            }
        }
        return buffer.ToArray();
    }

    private static MultipartFormDataContent Cases(byte[] zip, string fileName = "more.zip") => new() { { new ByteArrayContent(zip), "file", fileName } };

    private static IEnumerable<string> Patients(int patients, int slices) =>
        Enumerable.Range(1, patients).SelectMany(p => Enumerable.Range(0, slices).Select(s => $"patient{p:D2}_s{s}"));

    private static async Task<Guid> UploadAsync(HttpClient client, byte[] zip, string name = "versions")
    {
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload(name, zip));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<List<(Guid Id, string Name)>> CaseListAsync(HttpClient client, Guid id, int? version = null)
    {
        var cases = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/cases{(version is { } v ? $"?version={v}" : "")}");
        return [.. cases.EnumerateArray().Select(c => (c.GetProperty("id").GetGuid(), c.GetProperty("name").GetString()!))];
    }

    private async Task<T> DbAsync<T>(Func<MedSegDbContext, Task<T>> query)
    {
        using var scope = factory.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<MedSegDbContext>());
    }

    private static async Task<JsonElement> CreateSplitAsync(HttpClient client, Guid id, object body)
    {
        var response = await client.PostAsJsonAsync($"/api/datasets/{id}/splits", body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> RefusedAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
    }

    [Fact]
    public async Task AddingCasesMakesVersion2WithTheNewHashAndLeavesVersion1Unchanged()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var created = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("v-add", SyntheticDataset.Zip(4, 32)));
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, body.GetProperty("version").GetInt32());
        Assert.Equal(4, body.GetProperty("cases").GetInt32());
        Assert.Equal(["background", "foreground"], body.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var id = body.GetProperty("id").GetGuid();
        var v1 = (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}")).GetProperty("versions")[0];

        var added = await client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["extra-a", "extra-b"])));
        Assert.True(added.StatusCode == HttpStatusCode.Created, await added.Content.ReadAsStringAsync());
        var version = await added.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, version.GetProperty("version").GetInt32());
        Assert.Equal(6, version.GetProperty("cases").GetInt32());
        Assert.Equal(2, version.GetProperty("added").GetInt32());

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(2, dataset.GetProperty("version").GetInt32());
        Assert.Equal(6, dataset.GetProperty("cases").GetInt32());
        var versions = dataset.GetProperty("versions");
        Assert.Equal(2, versions.GetArrayLength());
        Assert.Equal(v1.GetProperty("contentHash").GetString(), versions[0].GetProperty("contentHash").GetString());
        Assert.Equal(4, versions[0].GetProperty("cases").GetInt32());
        Assert.Equal(version.GetProperty("contentHash").GetString(), versions[1].GetProperty("contentHash").GetString());
        Assert.NotEqual(versions[0].GetProperty("contentHash").GetString(), versions[1].GetProperty("contentHash").GetString());
        Assert.Contains("more.zip", versions[1].GetProperty("note").GetString());
        Assert.Equal(4, (await CaseListAsync(client, id, 1)).Count);
        var latest = await CaseListAsync(client, id);
        Assert.Equal(6, latest.Count);
        var extra = latest.First(c => c.Name == "extra-a").Id;
        var overlay = await client.GetAsync($"/api/datasets/{id}/cases/{extra}/overlay.png?size=32");
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
        // The new version's files have their own folder; the hash follows the same rule as an upload's.
        var hashes = await DbAsync(db => db.DatasetCases.Where(c => c.DatasetId == id).Select(c => new { c.Name, c.ImageSha256, c.MaskSha256 }).ToListAsync());
        Assert.Equal(DatasetService.ContentHash(hashes.Select(h => (h.Name, h.ImageSha256, h.MaskSha256))), version.GetProperty("contentHash").GetString());
        var refused = await client.GetAsync($"/api/datasets/{id}/cases?version=3");
        Assert.Contains("version", (await RefusedAsync(refused)).EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task AddingANameTheLatestVersionHoldsIsRefusedNamingTheFileAndStoresNothing()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, SyntheticDataset.Zip(3, 32), "v-duplicate");
        var filesBefore = Directory.EnumerateFiles(Path.Combine(factory.DataRoot, "datasets", id.ToString("N")), "*", SearchOption.AllDirectories).Count();

        // The same generator and seed: case-00 with identical content.
        var same = (await RefusedAsync(await client.PostAsync($"/api/datasets/{id}/cases", Cases(SyntheticDataset.Zip(1, 32)))))[0];
        Assert.Equal("images/case-00.png", same.GetProperty("file").GetString());
        Assert.Contains("already in version 1 with this same image and mask", same.GetProperty("problem").GetString());

        var other = await RefusedAsync(await client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["case-01", "new-one"]))));
        Assert.Equal(1, other.GetArrayLength());
        Assert.Equal("images/case-01.png", other[0].GetProperty("file").GetString());
        Assert.Contains("already in version 1 with other content", other[0].GetProperty("problem").GetString());

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(1, dataset.GetProperty("version").GetInt32());
        Assert.Equal(3, dataset.GetProperty("cases").GetInt32());
        Assert.Equal(3, await DbAsync(db => db.DatasetCases.CountAsync(c => c.DatasetId == id)));
        Assert.Equal(filesBefore, Directory.EnumerateFiles(Path.Combine(factory.DataRoot, "datasets", id.ToString("N")), "*", SearchOption.AllDirectories).Count());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(factory.DataRoot, "staging")));
    }

    [Fact]
    public async Task RemovingCasesMakesVersion3WhoseCaseListExcludesThemWhileVersion1StillListsThem()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, SyntheticDataset.Zip(5, 32), "v-remove");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["later"])))).StatusCode);
        var v2 = await CaseListAsync(client, id);
        var doomed = v2.Where(c => c.Name is "case-01" or "later").Select(c => c.Id).ToList();

        var removed = await client.PostAsJsonAsync($"/api/datasets/{id}/cases/remove", new { caseIds = doomed });
        Assert.True(removed.StatusCode == HttpStatusCode.Created, await removed.Content.ReadAsStringAsync());
        var version = await removed.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, version.GetProperty("version").GetInt32());
        Assert.Equal(4, version.GetProperty("cases").GetInt32());

        Assert.Equal(["case-00", "case-02", "case-03", "case-04"], (await CaseListAsync(client, id)).Select(c => c.Name));
        Assert.Contains("case-01", (await CaseListAsync(client, id, 1)).Select(c => c.Name));
        Assert.Contains("later", (await CaseListAsync(client, id, 2)).Select(c => c.Name));
        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(4, dataset.GetProperty("cases").GetInt32());
        Assert.Equal([5, 6, 4], dataset.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("cases").GetInt32()));
        // Files stay for the older versions; a removed case cannot be removed again, and an empty list says what to send.
        Assert.True(File.Exists(Path.Combine(factory.DataRoot, "datasets", id.ToString("N"), "images", "case-01.png")));
        var again = await RefusedAsync(await client.PostAsJsonAsync($"/api/datasets/{id}/cases/remove", new { caseIds = doomed.Take(1) }));
        Assert.Contains("no case of version 3", again[0].GetProperty("problem").GetString());
        Assert.Equal("caseIds", (await RefusedAsync(await client.PostAsJsonAsync($"/api/datasets/{id}/cases/remove", new { caseIds = Array.Empty<Guid>() })))[0]
            .GetProperty("file").GetString());

        // A new experiment never uses a removed case.
        var launched = await client.PostAsJsonAsync("/api/experiments", new { datasetId = id, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        var experiment = (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await client.PostAsync($"/api/experiments/{experiment}/cancel", null);
        var used = await DbAsync(db => db.ExperimentCases.Where(c => c.ExperimentId == experiment).Select(c => c.DatasetCaseId).ToListAsync());
        Assert.Equal(4, used.Count);
        Assert.DoesNotContain(used, doomed.Contains);
        Assert.Equal(3, await DbAsync(db => db.Experiments.Where(e => e.Id == experiment).Select(e => e.DatasetVersion).FirstAsync()));
    }

    [Fact]
    public async Task KFoldSplitFoldsPartitionTheCases()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, SyntheticDataset.Zip(10, 32), "split-kfold");
        var split = await CreateSplitAsync(client, id, new { kind = "kfold", folds = 3, seed = 4, testFraction = 0.2 });
        Assert.Equal(3, split.GetProperty("folds").GetArrayLength());
        Assert.Equal(1, split.GetProperty("version").GetInt32());
        var row = await DbAsync(db => db.SavedSplits.FirstAsync(s => s.Id == split.GetProperty("id").GetGuid()));
        var assignment = SplitAssignment.Parse(row.AssignmentJson);
        var all = (await CaseListAsync(client, id)).Select(c => c.Id).ToHashSet();
        Assert.Equal(2, assignment.Test.Count);
        var rest = all.Except(assignment.Test).ToList();
        // Every non-test case validates in exactly one fold.
        Assert.All(rest, c => Assert.Single(assignment.Folds, f => f.Contains(c)));
        Assert.Equal(rest.Count, assignment.Folds.Sum(f => f.Count));
        Assert.All(split.GetProperty("folds").EnumerateArray(), f =>
            Assert.Equal(10, f.GetProperty("train").GetInt32() + f.GetProperty("validation").GetInt32() + f.GetProperty("test").GetInt32()));
        var listed = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/splits");
        Assert.Equal(split.GetProperty("id").GetGuid(), listed[0].GetProperty("id").GetGuid());
        Assert.Equal(1, (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}")).GetProperty("splits").GetArrayLength());
    }

    [Fact]
    public async Task GroupedSplitByPatternKeepsEachPatientOnOneSide()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, ZipOf(Patients(6, 3)), "split-grouped");
        var split = await CreateSplitAsync(client, id, new { kind = "grouped", groupPattern = @"^(patient\d+)_", validationFraction = 0.4, testFraction = 0.2, seed = 3 });
        Assert.Equal(6, split.GetProperty("groups").GetInt32());
        var fold = split.GetProperty("folds")[0];
        Assert.Equal(3 * fold.GetProperty("validationGroups").GetInt32(), fold.GetProperty("validation").GetInt32());
        var assignment = SplitAssignment.Parse((await DbAsync(db => db.SavedSplits.FirstAsync(s => s.DatasetId == id))).AssignmentJson);
        var cases = await CaseListAsync(client, id);
        var sides = assignment.SidesOf(0, cases.Select(c => c.Id));
        foreach (var patient in cases.GroupBy(c => c.Name.Split('_')[0]))
        {
            Assert.Single(patient.Select(c => sides[c.Id]).Distinct());
        }
        Assert.Contains(SplitNames.Test, sides.Values);
    }

    [Fact]
    public async Task AGroupedSplitThatTheLeakageCheckRefusesNamesTheGroupAndStoresNothing()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, ZipOf(Patients(3, 2)), "split-leak");
        var leaking = new Dictionary<string, string>
        {
            ["patient01_s0"] = "train", ["patient01_s1"] = "validation", ["patient02_s0"] = "validation", ["patient02_s1"] = "validation",
        };
        var errors = await RefusedAsync(await client.PostAsJsonAsync($"/api/datasets/{id}/splits",
            new { kind = "grouped", groupPattern = @"^(patient\d+)_", assignment = leaking }));
        var problem = Assert.Single(errors.GetProperty("assignment").EnumerateArray()).GetString();
        Assert.Contains("group 'patient01'", problem);
        Assert.Contains("train: patient01_s0", problem);
        Assert.Empty(await DbAsync(db => db.SavedSplits.Where(s => s.DatasetId == id).ToListAsync()));

        // The same assignment without the straddling patient is stored as given.
        leaking["patient01_s0"] = "validation";
        var split = await CreateSplitAsync(client, id, new { kind = "grouped", groupPattern = @"^(patient\d+)_", assignment = leaking });
        Assert.Equal(4, split.GetProperty("folds")[0].GetProperty("validation").GetInt32());
        Assert.Contains("no case named 'nobody'", (await RefusedAsync(await client.PostAsJsonAsync($"/api/datasets/{id}/splits",
            new { kind = "random", assignment = new Dictionary<string, string> { ["nobody"] = "train" } }))).GetProperty("assignment")[0].GetString(),
            StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("""{"kind":"kfold","folds":1}""", "folds")]
    [InlineData("""{"kind":"banana"}""", "kind")]
    [InlineData("""{"kind":"random","testFraction":1.5}""", "testFraction")]
    [InlineData("""{"kind":"random","validationFraction":0}""", "validationFraction")]
    [InlineData("""{"kind":"grouped","groupPattern":"(unclosed"}""", "groupPattern")]
    [InlineData("""{"kind":"grouped"}""", "groupPattern")]
    [InlineData("""{"kind":"kfold","folds":9}""", "folds")]
    [InlineData("""{"kind":"random","version":7}""", "version")]
    public async Task ABadSplitSpecIsRefusedNamingTheField(string body, string field)
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, SyntheticDataset.Zip(4, 32), "split-bad");
        var errors = await RefusedAsync(await client.PostAsync($"/api/datasets/{id}/splits", new StringContent(body, System.Text.Encoding.UTF8, "application/json")));
        Assert.True(errors.TryGetProperty(field, out _), errors.ToString());
    }

    [Fact]
    public async Task AnExperimentWithASplitAndFoldTrainsOnExactlyTheFoldsCasesAndRecordsTheVersion()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, SyntheticDataset.Zip(9, 32), "split-launch");
        var split = await CreateSplitAsync(client, id, new { kind = "kfold", folds = 3, seed = 2, testFraction = 0.12 });
        var splitId = split.GetProperty("id").GetGuid();
        // A later version does not move an experiment on a split of version 1.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["late-1", "late-2"])))).StatusCode);

        var launched = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId = id, splitId, fold = 1, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        Assert.True(launched.StatusCode == HttpStatusCode.Accepted, await launched.Content.ReadAsStringAsync());
        var experimentId = (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await client.PostAsync($"/api/experiments/{experimentId}/cancel", null);

        var assignment = SplitAssignment.Parse((await DbAsync(db => db.SavedSplits.FirstAsync(s => s.Id == splitId))).AssignmentJson);
        var v1 = (await CaseListAsync(client, id, 1)).Select(c => c.Id).ToHashSet();
        var rows = await DbAsync(db => db.ExperimentCases.Where(c => c.ExperimentId == experimentId).ToListAsync());
        HashSet<Guid> On(CaseSplit side) => [.. rows.Where(r => r.Split == side).Select(r => r.DatasetCaseId)];
        Assert.Equal(assignment.Folds[1].ToHashSet(), On(CaseSplit.Validation));
        Assert.Equal(assignment.Test.ToHashSet(), On(CaseSplit.Test));
        Assert.Single(assignment.Test);
        Assert.Equal(v1.Except(assignment.Folds[1]).Except(assignment.Test).ToHashSet(), On(CaseSplit.Train));
        var experiment = await DbAsync(db => db.Experiments.FirstAsync(e => e.Id == experimentId));
        Assert.Equal((1, splitId, 1), (experiment.DatasetVersion, experiment.SplitId!.Value, experiment.Fold!.Value));

        var detail = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{experimentId}");
        Assert.Equal(1, detail.GetProperty("datasetVersion").GetInt32());
        Assert.Equal(1, detail.GetProperty("testCases").GetInt32());
        var recorded = detail.GetProperty("config").GetProperty("split");
        Assert.Equal(splitId, recorded.GetProperty("splitId").GetGuid());
        Assert.Equal(1, recorded.GetProperty("fold").GetInt32());
        Assert.Equal("kfold", recorded.GetProperty("kind").GetString());
        Assert.Equal(1, detail.GetProperty("config").GetProperty("dataset").GetProperty("version").GetInt32());

        // Field errors name the field.
        var other = await UploadAsync(client, SyntheticDataset.Zip(4, 32), "split-other");
        foreach (var (body, field) in new (object, string)[]
        {
            (new { datasetId = id, splitId, fold = 3, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 }, "fold"),
            (new { datasetId = other, splitId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 }, "splitId"),
            (new { datasetId = id, splitId = Guid.NewGuid(), model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 }, "splitId"),
        })
        {
            var errors = await RefusedAsync(await client.PostAsJsonAsync("/api/experiments", body));
            Assert.True(errors.TryGetProperty(field, out _), errors.ToString());
        }
    }

    [Fact]
    public async Task AShareeCannotAddCasesRemoveCasesOrCreateSplits()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(factory, admin, "Member");
        var sharee = await Accounts.CreateAsync(factory, admin, "Member");
        var id = await UploadAsync(owner.Client, SyntheticDataset.Zip(4, 32), "v-shared");
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsJsonAsync($"/api/datasets/{id}/shares", new { userId = sharee.Id })).StatusCode);
        var caseId = (await CaseListAsync(sharee.Client, id))[0].Id;

        Assert.Equal(HttpStatusCode.Forbidden, (await sharee.Client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["mine"])))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await sharee.Client.PostAsJsonAsync($"/api/datasets/{id}/cases/remove", new { caseIds = new[] { caseId } })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await sharee.Client.PostAsJsonAsync($"/api/datasets/{id}/splits", new { kind = "random" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await sharee.Client.GetAsync($"/api/datasets/{id}/splits")).StatusCode);
        Assert.Equal(1, (await owner.Client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}")).GetProperty("version").GetInt32());
        // The owner's change is audited.
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["theirs"])))).StatusCode);
        Assert.True(await DbAsync(db => db.AuditLog.AnyAsync(a => a.Action == "dataset.version" && a.TargetId == id.ToString() && a.ActorId == owner.Id)));
    }

    [Fact]
    public async Task ADatasetWithVersionsAndSplitsIsDeletedWholeOnceNoExperimentUsesIt()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var id = await UploadAsync(client, SyntheticDataset.Zip(4, 32), "v-delete");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync($"/api/datasets/{id}/cases", Cases(ZipOf(["more"])))).StatusCode);
        var split = await CreateSplitAsync(client, id, new { kind = "random", version = 1 });
        var launched = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId = id, splitId = split.GetProperty("id").GetGuid(), model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01,
        });
        var experiment = (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await client.PostAsync($"/api/experiments/{experiment}/cancel", null);

        // Used through version 1: refused as today.
        Assert.Equal(HttpStatusCode.Conflict, (await client.DeleteAsync($"/api/datasets/{id}")).StatusCode);
        var deleted = await client.DeleteAsync($"/api/datasets/{id}?withExperiments=true");
        Assert.True(deleted.StatusCode == HttpStatusCode.OK, await deleted.Content.ReadAsStringAsync());
        Assert.Equal(0, await DbAsync(db => db.DatasetVersions.CountAsync(v => v.DatasetId == id)));
        Assert.Equal(0, await DbAsync(db => db.SavedSplits.CountAsync(s => s.DatasetId == id)));
        Assert.Equal(0, await DbAsync(db => db.DatasetCases.CountAsync(c => c.DatasetId == id)));
    }
}
