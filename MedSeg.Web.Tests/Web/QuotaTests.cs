using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Quotas;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Storage and job quotas (<c>MedSeg:Quotas</c>, per-user overrides, admins exempt): refusals before the body,
/// after unpacking, at launch and at prediction start, and <c>GET /api/quotas/me</c>.</summary>
[Collection(AppCollection.Name)]
public sealed class QuotaTests
{
    private const string Password = "User-Pass-1";

    private static object Launch(Guid datasetId) =>
        new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.003 };

    private static async Task<Guid> DatasetAsync(HttpClient client, int cases = 4)
    {
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(cases, 32)));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static void AssertNothingStaged(MedSegAppFactory factory)
    {
        var staging = Path.Combine(factory.DataRoot, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
    }

    [Fact]
    public void QuotaOptionsDefaultTo100GiBAnd4JobsAndRefuseNegativeValues()
    {
        var defaults = new QuotaOptions();
        Assert.Equal((100L << 30, 4), (defaults.StorageBytesPerUser, defaults.JobsPerUser));
        defaults.Check();
        new QuotaOptions { StorageBytesPerUser = 0, JobsPerUser = 0 }.Check();
        var e = Assert.Throws<InvalidOperationException>(() => new QuotaOptions { StorageBytesPerUser = -1, JobsPerUser = -2 }.Check());
        Assert.Contains("StorageBytesPerUser, JobsPerUser", e.Message);
    }

    [Fact]
    public async Task UploadLargerThanTheStorageLeftIsRefusedFromItsLengthBeforeTheBodyIsRead()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Quotas:StorageBytesPerUser"] = "20000" });
        await DeletionTests.UserAsync(factory, "bob@medseg.test");
        using var bob = await factory.CreateAuthenticatedClientAsync("bob@medseg.test", Password);
        // Not a zip at all: had the body been read, the answer would be "not a zip" (400).
        var junk = new MultipartFormDataContent { { new ByteArrayContent(new byte[50_000]), "file", "big.zip" } };
        var response = await bob.PostAsync("/api/datasets", junk);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(20000, problem.GetProperty("limitBytes").GetInt64());
        Assert.Equal(0, problem.GetProperty("usedBytes").GetInt64());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("storage quota of 19.5 KB", detail);
        Assert.Contains("Delete datasets or experiments", detail);
        Assert.Contains("storage quota", problem.GetProperty("errors")[0].GetProperty("problem").GetString());
        AssertNothingStaged(factory);
        Assert.Empty((await bob.GetFromJsonAsync<JsonElement>("/api/datasets")).EnumerateArray());

        // The admin is exempt.
        using var admin = await factory.CreateAuthenticatedClientAsync();
        await DatasetAsync(admin, 8);
        var me = await admin.GetFromJsonAsync<JsonElement>("/api/quotas/me");
        Assert.Equal(JsonValueKind.Null, me.GetProperty("storage").GetProperty("limitBytes").ValueKind);
        Assert.Equal(JsonValueKind.Null, me.GetProperty("jobs").GetProperty("limit").ValueKind);
    }

    [Fact]
    public async Task UploadThatUnpacksToMoreThanTheStorageLeftIsRefusedAfterUnpackingAndStoresNothing()
    {
        using var factory = new MedSegAppFactory();
        // A per-user override of the (default 100 GiB) quota: 200 KB.
        await DeletionTests.UserAsync(factory, "bob@medseg.test", storageQuota: 200_000);
        using var bob = await factory.CreateAuthenticatedClientAsync("bob@medseg.test", Password);
        // A few KB on the wire (within the quota), 1 MB once unpacked.
        var zip = SyntheticDataset.Zip(2, 32, tamper: z =>
        {
            var entry = z.CreateEntry("images/padding.txt", CompressionLevel.Optimal);
            using var s = entry.Open();
            s.Write(new byte[1_000_000]);
        });
        Assert.True(zip.Length < 100_000);
        var response = await bob.PostAsync("/api/datasets", DatasetsApiTests.Upload("padded", zip));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(200_000, problem.GetProperty("limitBytes").GetInt64());
        Assert.True(problem.GetProperty("neededBytes").GetInt64() > 1_000_000);
        AssertNothingStaged(factory);
        Assert.Empty((await bob.GetFromJsonAsync<JsonElement>("/api/datasets")).EnumerateArray());
        Assert.False(Directory.Exists(Path.Combine(factory.DataRoot, "datasets")) && Directory.EnumerateDirectories(Path.Combine(factory.DataRoot, "datasets")).Any());

        // Without the padding it fits, and counts against the quota.
        Assert.Equal(HttpStatusCode.Created, (await bob.PostAsync("/api/datasets", DatasetsApiTests.Upload("small", SyntheticDataset.Zip(2, 32)))).StatusCode);
        var me = await bob.GetFromJsonAsync<JsonElement>("/api/quotas/me");
        Assert.Equal(200_000, me.GetProperty("storage").GetProperty("limitBytes").GetInt64());
        Assert.True(me.GetProperty("storage").GetProperty("usedBytes").GetInt64() > 0);
    }

    [Fact]
    public async Task LaunchAndPredictionBeyondTheJobQuotaAreRefusedWith429NamingTheJobsAndTheLimitWhileAdminsAndOverridesAreExempt()
    {
        // Web-only: launched runs stay queued.
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Quotas:JobsPerUser"] = "1", ["MedSeg:Jobs:RunServer"] = "false" });
        await DeletionTests.UserAsync(factory, "bob@medseg.test");
        await DeletionTests.UserAsync(factory, "olga@medseg.test", jobQuota: 0);
        using var bob = await factory.CreateAuthenticatedClientAsync("bob@medseg.test", Password);
        var datasetId = await DatasetAsync(bob);
        var first = await bob.PostAsJsonAsync("/api/experiments", Launch(datasetId));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var firstId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var refused = await bob.PostAsJsonAsync("/api/experiments", Launch(datasetId));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((1, 1), (problem.GetProperty("active").GetInt32(), problem.GetProperty("limit").GetInt32()));
        Assert.Contains("1 job(s) queued or running", problem.GetProperty("detail").GetString());
        Assert.Contains("quota of 1", problem.GetProperty("detail").GetString());
        var me = await bob.GetFromJsonAsync<JsonElement>("/api/quotas/me");
        Assert.Equal((1, 1), (me.GetProperty("jobs").GetProperty("active").GetInt32(), me.GetProperty("jobs").GetProperty("limit").GetInt32()));
        Assert.Equal(100L << 30, me.GetProperty("storage").GetProperty("limitBytes").GetInt64());

        // A completed experiment frees its slot; a second launch takes it, and then a prediction start is refused before its body.
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            await db.Experiments.Where(e => e.Id == firstId).ExecuteUpdateAsync(s => s.SetProperty(e => e.Status, ExperimentStatus.Completed));
        }
        Assert.Equal(HttpStatusCode.Accepted, (await bob.PostAsJsonAsync("/api/experiments", Launch(datasetId))).StatusCode);
        var images = new MultipartFormDataContent { { new ByteArrayContent(new byte[1000]), "files", "a.png" } };
        var prediction = await bob.PostAsync($"/api/experiments/{firstId}/predictions", images);
        Assert.Equal(HttpStatusCode.TooManyRequests, prediction.StatusCode);
        Assert.Contains("quota of 1", await prediction.Content.ReadAsStringAsync());

        // A per-user override of 0 is unlimited; admins are exempt.
        using var olga = await factory.CreateAuthenticatedClientAsync("olga@medseg.test", Password);
        var olgaDataset = await DatasetAsync(olga);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.Accepted, (await olga.PostAsJsonAsync("/api/experiments", Launch(olgaDataset))).StatusCode);
        Assert.Equal(JsonValueKind.Null, (await olga.GetFromJsonAsync<JsonElement>("/api/quotas/me")).GetProperty("jobs").GetProperty("limit").ValueKind);
        using var admin = await factory.CreateAuthenticatedClientAsync();
        var adminDataset = await DatasetAsync(admin);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsJsonAsync("/api/experiments", Launch(adminDataset))).StatusCode);
    }
}
