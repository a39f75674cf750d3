using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using MedSeg.Data;
using MedSeg.Web.Features.Predictions;
using MedSeg.Web.Infrastructure;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>
/// The fair training queue in the real app: one training slot, user A queues five runs and then user B one; B's run starts
/// second (A1, B1, A2 …), <c>GET /api/queue</c> lists the rest in that order with estimates from the measured epochs, and a
/// queued run (no job yet) cancels. Predictions have a queue and workers of their own.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class TrainingQueueTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);
    // Each training batch sleeps this long in the child: A1 still runs while the other five are launched.
    private const string DelayKey = "MedSeg:Jobs:ChildEnvironment:MEDSEG_FAULT_BATCH_DELAY_MS";

    private static async Task<Guid> DatasetAsync(HttpClient client)
    {
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(8, 32)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<Guid> LaunchAsync(HttpClient client, Guid datasetId, string name)
    {
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.003, name });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<JsonElement> SummaryAsync(HttpClient client, Guid id) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");

    private static DateTimeOffset? Started(JsonElement e) =>
        e.GetProperty("startedAt").ValueKind == JsonValueKind.Null ? null : e.GetProperty("startedAt").GetDateTimeOffset();

    private static string Status(JsonElement e) => e.GetProperty("summary").GetProperty("status").GetString()!;

    private static async Task<JsonElement> WaitAsync(HttpClient client, Guid id, Func<JsonElement, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var e = await SummaryAsync(client, id);
            if (done(e)) return e;
            if (clock.Elapsed > Long) throw new TimeoutException($"{what}: not reached within {Long}; the experiment is {e}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task WithOneSlotTheSecondUsersRunStartsSecondNotAfterTheFirstUsersFiveAndTheQueueListsTheRestInThatOrder()
    {
        using var factory = new MedSegAppFactory(new()
        {
            ["MedSeg:Jobs:WorkerCount"] = "1",
            ["MedSeg:Quotas:JobsPerUser"] = "0",
            [DelayKey] = "2000",
        });
        using var admin = await factory.CreateAuthenticatedClientAsync();
        var a = await Accounts.CreateAsync(factory, admin, "Member", displayName: "Ana");
        var b = await Accounts.CreateAsync(factory, admin, "Member", displayName: "Bruno");
        var aData = await DatasetAsync(a.Client);
        var bData = await DatasetAsync(b.Client);

        var aRuns = new List<Guid>();
        for (var i = 1; i <= 5; i++) aRuns.Add(await LaunchAsync(a.Client, aData, $"A{i}"));
        var bRun = await LaunchAsync(b.Client, bData, "B1");
        // The premise: A1 holds the only slot while B queues (else A2 after A1 would be fair too).
        Assert.Equal("Running", Status(await WaitAsync(a.Client, aRuns[0], e => Status(e) != "Queued", "A1 starts")));
        Assert.NotEqual("Completed", Status(await SummaryAsync(a.Client, aRuns[0])));
        foreach (var id in aRuns.Skip(1)) Assert.Null(Started(await SummaryAsync(a.Client, id)));

        // While A1 runs, the queue lists B1 first: A has a run in progress, B none.
        var queue = await b.Client.GetFromJsonAsync<JsonElement>("/api/queue");
        Assert.Equal(1, queue.GetProperty("slots").GetInt32());
        var waiting = queue.GetProperty("entries").EnumerateArray().Where(e => e.GetProperty("state").GetString() == "Queued").ToList();
        Assert.Equal([bRun, .. aRuns.Skip(1)], waiting.Select(e => e.GetProperty("experimentId").GetGuid()));
        Assert.Equal([1, 2, 3, 4, 5], waiting.Select(e => e.GetProperty("position").GetInt32()));
        var running = Assert.Single(queue.GetProperty("entries").EnumerateArray(), e => e.GetProperty("state").GetString() != "Queued");
        Assert.Equal(aRuns[0], running.GetProperty("experimentId").GetGuid());
        // Bruno sees who waits and what, not Ana's run names, and may cancel only his own.
        Assert.All(waiting.Skip(1), e =>
        {
            Assert.Equal("Ana", e.GetProperty("owner").GetString());
            Assert.Equal(JsonValueKind.Null, e.GetProperty("name").ValueKind);
            Assert.False(e.GetProperty("canCancel").GetBoolean());
            Assert.Equal("unext", e.GetProperty("model").GetString());
        });
        Assert.Equal(("B1", true, true), (waiting[0].GetProperty("name").GetString(), waiting[0].GetProperty("canCancel").GetBoolean(),
            waiting[0].GetProperty("mine").GetBoolean()));

        // B1 starts second: when A1 has ended and before any other run of A's.
        var b1 = await WaitAsync(b.Client, bRun, e => Started(e) is not null, "B1 starts");
        var a1 = await WaitAsync(a.Client, aRuns[0], e => Status(e) is "Completed" or "Failed", "A1 ends");
        Assert.Equal("Completed", Status(a1));
        Assert.True(a1.GetProperty("finishedAt").GetDateTimeOffset() <= Started(b1), "B1 started before A1 ended");
        foreach (var id in aRuns.Skip(1)) Assert.Null(Started(await SummaryAsync(a.Client, id)));

        // With A1's epoch measured, the queue estimates: B1 from A1 (the same architecture and size), A2 after B1.
        queue = await a.Client.GetFromJsonAsync<JsonElement>("/api/queue");
        var entries = queue.GetProperty("entries").EnumerateArray().ToDictionary(e => e.GetProperty("experimentId").GetGuid());
        Assert.Equal(JsonValueKind.String, entries[bRun].GetProperty("estimatedFinish").ValueKind);
        Assert.Contains("earlier unext run(s) at 32 px", entries[bRun].GetProperty("eta").GetString());
        Assert.Equal(1, entries[aRuns[1]].GetProperty("position").GetInt32());
        Assert.True(entries[aRuns[1]].GetProperty("estimatedStart").GetDateTimeOffset() >= entries[bRun].GetProperty("estimatedFinish").GetDateTimeOffset().AddSeconds(-1));

        // A queued run (no job yet) cancels, by its owner; another member may not.
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            Assert.Null(await db.Experiments.Where(e => e.Id == aRuns[4]).Select(e => e.JobId).SingleAsync());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await b.Client.PostAsync($"/api/experiments/{aRuns[4]}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await a.Client.PostAsync($"/api/experiments/{aRuns[4]}/cancel", null)).StatusCode);
        Assert.Equal("Cancelled", Status(await SummaryAsync(a.Client, aRuns[4])));

        // Then A2 (B has nothing left to queue), and the rest stays queued until it ends.
        var a2 = await WaitAsync(a.Client, aRuns[1], e => Started(e) is not null, "A2 starts");
        var b1Done = await WaitAsync(b.Client, bRun, e => Status(e) is "Completed" or "Failed", "B1 ends");
        Assert.True(b1Done.GetProperty("finishedAt").GetDateTimeOffset() <= Started(a2), "A2 started before B1 ended");
        Assert.Null(Started(await SummaryAsync(a.Client, aRuns[2])));
        foreach (var id in aRuns.Skip(1).Take(3)) await a.Client.PostAsync($"/api/experiments/{id}/cancel", null);
        Assert.Equal("Cancelled", Status(await SummaryAsync(a.Client, aRuns[4])));
    }

    [Fact]
    public async Task PredictionJobsGoToTheirOwnQueueServedByTheirOwnWorkers()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Jobs:WorkerCount"] = "1", ["MedSeg:Jobs:PredictWorkers"] = "2" });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var storage = factory.Services.GetRequiredService<JobStorage>();
        var monitoring = storage.GetMonitoringApi();
        var clock = Stopwatch.StartNew();
        while (monitoring.Servers().Count < 2 && clock.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(200);
        var servers = monitoring.Servers();
        Assert.Contains(servers, s => s.Queues.SequenceEqual([JobsExtensions.TrainingQueue]) && s.WorkersCount == 1);
        Assert.Contains(servers, s => s.Queues.Contains(JobsExtensions.PredictQueue) && !s.Queues.Contains(JobsExtensions.TrainingQueue) && s.WorkersCount == 2);

        // A prediction job (of a run that does not exist: it exits at once) is enqueued on the predict queue.
        var jobs = factory.Services.GetRequiredService<IBackgroundJobClient>();
        var jobId = jobs.Enqueue<PredictJob>(j => j.RunAsync(Guid.NewGuid(), Guid.NewGuid(), CancellationToken.None));
        var enqueued = monitoring.JobDetails(jobId).History.Last(h => h.StateName == "Enqueued");
        Assert.Equal(JobsExtensions.PredictQueue, enqueued.Data["Queue"]);
    }
}
