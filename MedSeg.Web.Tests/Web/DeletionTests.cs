using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Deleting datasets, experiments and prediction runs: files freed and answered, refusals (in use, read-only,
/// in progress), a running experiment stopped before its folder goes, and the start-up reconciliation of crash leftovers.</summary>
[Collection(AppCollection.Name)]
public sealed class DeletionTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);
    private const string DelayKey = "MedSeg:Jobs:ChildEnvironment:MEDSEG_FAULT_BATCH_DELAY_MS";

    private static async Task<Guid> DatasetAsync(HttpClient client, int cases = 6)
    {
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(cases, 32)));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<Guid> LaunchAsync(HttpClient client, Guid datasetId, int epochs, string name)
    {
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs, batchSize = 2, imageSize = 32, learningRate = 0.003, name });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    internal static async Task<string> UserAsync(MedSegAppFactory factory, string email, string? role = null, long? storageQuota = null, int? jobQuota = null)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        var user = new ApplicationUser { UserName = email, Email = email, StorageQuotaBytes = storageQuota, JobQuota = jobQuota };
        Assert.True((await users.CreateAsync(user, "User-Pass-1")).Succeeded);
        if (role is not null) Assert.True((await users.AddToRoleAsync(user, role)).Succeeded);
        return user.Id;
    }

    private static string Folder(MedSegAppFactory factory, string kind, Guid id) => Path.Combine(factory.DataRoot, kind, id.ToString("N"));

    private static long SizeOnDisk(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

    [Fact]
    public async Task DeletingADatasetRemovesItsFolderWithItsRenditionsAndAnswersTheBytesFreed()
    {
        using var factory = new MedSegAppFactory();
        using var client = await factory.CreateAuthenticatedClientAsync();
        var id = await DatasetAsync(client);
        var caseId = (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}/cases"))[0].GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/datasets/{id}/cases/{caseId}/overlay.png?size=64")).StatusCode);
        var folder = Folder(factory, "datasets", id);
        Assert.True(Directory.Exists(Path.Combine(folder, "renditions")));
        var size = SizeOnDisk(folder);

        var response = await client.DeleteAsync($"/api/datasets/{id}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(size, body.GetProperty("freedBytes").GetInt64());
        Assert.Equal([id], body.GetProperty("deleted").GetProperty("datasets").EnumerateArray().Select(e => e.GetGuid()));
        Assert.False(Directory.Exists(folder));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(factory.DataRoot, "trash")));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/datasets/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/api/datasets/{id}")).StatusCode);

        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        Assert.False(await db.DatasetCases.AnyAsync(c => c.DatasetId == id));
        var audit = await db.AuditLog.SingleAsync(a => a.Action == AuditActions.DatasetDelete && a.TargetId == id.ToString());
        Assert.Contains("freed", audit.Detail);
    }

    [Fact]
    public async Task ViewerAndReadOnlyShareeGet403AndAUserWhoCannotSeeItGets404()
    {
        using var factory = new MedSegAppFactory();
        using var admin = await factory.CreateAuthenticatedClientAsync();
        var id = await DatasetAsync(admin, 2);
        var bob = await UserAsync(factory, "bob@medseg.test");
        var viewer = await UserAsync(factory, "vera@medseg.test", UserContext.ViewerRole);
        await UserAsync(factory, "carol@medseg.test");
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var adminId = await db.Users.Where(u => u.Email == MedSegAppFactory.AdminEmail).Select(u => u.Id).SingleAsync();
            db.Shares.Add(new Share { Id = Guid.NewGuid(), Kind = ShareKind.Dataset, ResourceId = id, UserId = bob, SharedById = adminId });
            db.Shares.Add(new Share { Id = Guid.NewGuid(), Kind = ShareKind.Dataset, ResourceId = id, UserId = viewer, SharedById = adminId });
            await db.SaveChangesAsync();
        }
        using var bobClient = await factory.CreateAuthenticatedClientAsync("bob@medseg.test", "User-Pass-1");
        using var veraClient = await factory.CreateAuthenticatedClientAsync("vera@medseg.test", "User-Pass-1");
        using var carolClient = await factory.CreateAuthenticatedClientAsync("carol@medseg.test", "User-Pass-1");
        var forbidden = await bobClient.DeleteAsync($"/api/datasets/{id}");
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("read-only", await forbidden.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await veraClient.DeleteAsync($"/api/datasets/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await carolClient.DeleteAsync($"/api/datasets/{id}")).StatusCode);
        Assert.True(Directory.Exists(Folder(factory, "datasets", id)));
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/datasets/{id}")).StatusCode);
    }

    [Fact]
    public async Task DatasetInUseIsAConflictNamingTheExperimentAndWithExperimentsDeletesBothAndTheirPredictionRuns()
    {
        using var factory = new MedSegAppFactory();
        using var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client);
        var experimentId = await LaunchAsync(client, datasetId, epochs: 1, name: "uses-the-discs");
        await ExperimentsApiTests.WaitForStatusAsync(client, experimentId, "Completed", Long);

        // A prediction run: refused while queued, deleted (folder and bytes) once finished.
        var images = new MultipartFormDataContent { { new ByteArrayContent(SyntheticDataset.Case(new Random(1), 32, 32).Image), "files", "a.png" } };
        var started = await client.PostAsync($"/api/experiments/{experimentId}/predictions", images);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var files = factory.Services.GetRequiredService<PredictionRunFiles>();
        var clock = Stopwatch.StartNew();
        while (files.Read(experimentId, runId)!.Status is not (PredictionRunStatus.Completed or PredictionRunStatus.Failed))
        {
            Assert.True(clock.Elapsed < Long, "the prediction run did not end");
            await Task.Delay(250);
        }
        var runDir = files.RunDirectory(experimentId, runId);
        PredictJob.Update(runDir, s => s with { Status = PredictionRunStatus.Queued });
        var queued = await client.DeleteAsync($"/api/experiments/{experimentId}/predictions/{runId}");
        Assert.Equal(HttpStatusCode.Conflict, queued.StatusCode);
        Assert.Contains("cannot be cancelled yet", await queued.Content.ReadAsStringAsync());
        PredictJob.Update(runDir, s => s with { Status = PredictionRunStatus.Completed });
        var runSize = SizeOnDisk(runDir);
        var runDeleted = await client.DeleteAsync($"/api/experiments/{experimentId}/predictions/{runId}");
        Assert.Equal(HttpStatusCode.OK, runDeleted.StatusCode);
        Assert.Equal(runSize, (await runDeleted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("freedBytes").GetInt64());
        Assert.False(Directory.Exists(runDir));

        var refused = await client.DeleteAsync($"/api/datasets/{datasetId}");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("uses-the-discs", problem.GetProperty("detail").GetString());
        Assert.Contains(experimentId.ToString(), problem.GetProperty("detail").GetString());
        Assert.Equal(experimentId, problem.GetProperty("experiments")[0].GetProperty("id").GetGuid());
        Assert.True(Directory.Exists(Folder(factory, "datasets", datasetId)));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/experiments/{experimentId}")).StatusCode);

        var expected = SizeOnDisk(Folder(factory, "datasets", datasetId)) + SizeOnDisk(Folder(factory, "experiments", experimentId));
        var deleted = await client.DeleteAsync($"/api/datasets/{datasetId}?withExperiments=true");
        Assert.True(deleted.StatusCode == HttpStatusCode.OK, await deleted.Content.ReadAsStringAsync());
        var body = await deleted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(expected, body.GetProperty("freedBytes").GetInt64());
        Assert.Equal([experimentId], body.GetProperty("deleted").GetProperty("experiments").EnumerateArray().Select(e => e.GetGuid()));
        Assert.False(Directory.Exists(Folder(factory, "datasets", datasetId)));
        Assert.False(Directory.Exists(Folder(factory, "experiments", experimentId)));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/experiments/{experimentId}")).StatusCode);
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        Assert.False(await db.ExperimentCases.AnyAsync(c => c.ExperimentId == experimentId));
        Assert.False(await db.EpochMetrics.AnyAsync(m => m.ExperimentId == experimentId));
        Assert.True(await db.AuditLog.AnyAsync(a => a.Action == AuditActions.ExperimentDelete && a.TargetId == experimentId.ToString()));
        Assert.True(await db.AuditLog.AnyAsync(a => a.Action == AuditActions.PredictionDelete && a.TargetId == runId.ToString()));
    }

    [Fact]
    public async Task DeletingARunningExperimentCancelsItAndItsChildIsGoneBeforeItsFolder()
    {
        using var factory = new MedSegAppFactory(new() { [DelayKey] = "150" });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var id = await LaunchAsync(client, await DatasetAsync(client, 12), epochs: 20, name: "long-run");
        var clock = Stopwatch.StartNew();
        while (ChildProcesses.Of(id).Count == 0)
        {
            Assert.True(clock.Elapsed < Long, "no training child appeared");
            await Task.Delay(100);
        }
        var folder = Folder(factory, "experiments", id);
        Assert.True(Directory.Exists(folder));

        var response = await client.DeleteAsync($"/api/experiments/{id}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        // When the answer comes, the child has ended and only then was the folder removed.
        Assert.Empty(ChildProcesses.Of(id));
        Assert.False(Directory.Exists(folder));
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("freedBytes").GetInt64() > 0);
        // Nothing the run left behind writes there again.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(Directory.Exists(folder));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/experiments/{id}")).StatusCode);
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        Assert.True(await db.AuditLog.AnyAsync(a => a.Action == AuditActions.ExperimentCancel && a.TargetId == id.ToString()));
    }

    [Fact]
    public async Task FolderWithoutARowAndALeftoverTrashFolderAreGoneAfterARestartWhileRowsWithFilesAreKept()
    {
        using var data = new TempDirectory("medseg-reconcile");
        Guid datasetId;
        using (var first = new MedSegAppFactory(dataRoot: data.Path))
        {
            using var client = await first.CreateAuthenticatedClientAsync();
            datasetId = await DatasetAsync(client, 2);
        }
        string Leftover(params string[] parts)
        {
            var dir = Path.Combine([data.Path, .. parts]);
            Directory.CreateDirectory(Path.Combine(dir, "checkpoints"));
            File.WriteAllBytes(Path.Combine(dir, "checkpoints", "last.bin"), new byte[1000]);
            return dir;
        }
        var past = DateTime.UtcNow - TimeSpan.FromHours(1);
        // What a delete that died after its commit leaves (old folders), and a folder another node is committing right now.
        var deletedDataset = Leftover("datasets", Guid.NewGuid().ToString("N"));
        var deletedExperiment = Leftover("experiments", Guid.NewGuid().ToString("N"));
        Directory.SetLastWriteTimeUtc(deletedDataset, past);
        Directory.SetLastWriteTimeUtc(deletedExperiment, past);
        var committing = Leftover("datasets", Guid.NewGuid().ToString("N"));
        var trash = Leftover("trash", Guid.NewGuid().ToString("N") + "-" + Guid.NewGuid().ToString("N"));

        using var restarted = new MedSegAppFactory(dataRoot: data.Path);
        using var again = await restarted.CreateAuthenticatedClientAsync();
        Assert.False(Directory.Exists(deletedDataset));
        Assert.False(Directory.Exists(deletedExperiment));
        Assert.False(Directory.Exists(trash));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(data.Path, "trash")));
        Assert.True(Directory.Exists(committing));
        Assert.True(Directory.Exists(Path.Combine(data.Path, "datasets", datasetId.ToString("N"), "images")));
        Assert.Equal(2, (await again.GetFromJsonAsync<JsonElement>($"/api/datasets/{datasetId}/cases")).GetArrayLength());
    }
}
