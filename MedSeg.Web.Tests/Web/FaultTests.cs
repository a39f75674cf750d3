using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>
/// Nothing a run does takes the server down, and every kind of death ends in a known state: the server killed mid-epoch,
/// the training child killed again and again, a poison run over the memory ceiling, queued jobs across a restart, a
/// second execution of one job, a cancel that the child ignores. Tiny UNeXt runs at 32², slowed per batch where a test
/// must act mid-epoch (<c>MEDSEG_FAULT_BATCH_DELAY_MS</c>, passed to the child through <c>MedSeg:Jobs:ChildEnvironment</c>).
/// </summary>
[Collection(AppCollection.Name)]
public sealed class FaultTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);
    private const string DelayKey = "MedSeg:Jobs:ChildEnvironment:MEDSEG_FAULT_BATCH_DELAY_MS";

    private static object Launch(Guid datasetId, int epochs, string? name = null) =>
        new { datasetId, model = "unext", epochs, batchSize = 2, imageSize = 32, learningRate = 0.003, name };

    private static async Task<Guid> DatasetAsync(HttpClient client, int cases = 20)
    {
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(cases, 32)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<Guid> LaunchAsync(HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/api/experiments", request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<JsonElement> GetAsync(HttpClient client, Guid id) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");

    private static string Status(JsonElement e) => e.GetProperty("summary").GetProperty("status").GetString()!;

    private static async Task<JsonElement> WaitAsync(HttpClient client, Guid id, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        JsonElement e;
        do
        {
            e = await GetAsync(client, id);
            if (done(e)) return e;
            await Task.Delay(200);
        }
        while (clock.Elapsed < timeout);
        throw new TimeoutException($"{what}: not reached within {timeout}; the experiment is {e}");
    }

    private static async Task WaitForChildAsync(Guid id, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (ChildProcesses.Of(id).Count == 0)
        {
            if (clock.Elapsed > timeout) throw new TimeoutException("no training child appeared");
            await Task.Delay(100);
        }
    }

    private static async Task WaitForNoChildAsync(Guid id, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (ChildProcesses.Of(id).Count > 0)
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"the training child still runs after {timeout}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task LaunchThatWouldNotFitTheMemoryCeilingIsRefusedNamingWhatFits()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Jobs:MemoryCeilingBytes"] = (8L << 30).ToString() });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, 8);
        // The issue's poison form: UNeXt, batch 8, 2048².
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 5, batchSize = 8, imageSize = 2048, learningRate = 0.001 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("batchSize", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("more than the 8.0 GiB one run may use here", body);
        Assert.Matches(@"Batch size \d+ fits at 2048", body);
        Assert.Matches(@"image size \d+ fits", body);
        var list = await client.GetFromJsonAsync<JsonElement>("/api/experiments");
        Assert.Equal(0, list.GetArrayLength());
    }

    [Fact]
    public async Task ServerKilledMidEpochResumesWithinAMinuteLosingAtMostTheEpochInProgress()
    {
        using var data = new TempDirectory("medseg-kill");
        var settings = new Dictionary<string, string> { ["MedSeg__Jobs__ChildEnvironment__MEDSEG_FAULT_BATCH_DELAY_MS"] = "150" };
        Guid id;
        double epochOneLoss;
        var port = ServerProcess.FreePort();
        using (var first = await ServerProcess.StartAsync(data.Path, settings, port))
        {
            using var client = await first.ClientAsync();
            id = await LaunchAsync(client, Launch(await DatasetAsync(client), epochs: 3));
            // Epoch 1 is stored and epoch 2 is under way (8 batches of 150 ms each): kill the server there.
            var e = await WaitAsync(client, id, x => x.GetProperty("metrics").GetArrayLength() >= 1, Long, "epoch 1");
            epochOneLoss = e.GetProperty("metrics")[0].GetProperty("trainLoss").GetDouble();
            Assert.Equal("Running", Status(e));
            first.KillHard();
        }
        // The orphaned child notices its parent's pipe close and ends itself: no second trainer on the run folder.
        await WaitForNoChildAsync(id, TimeSpan.FromSeconds(15));

        using var second = await ServerProcess.StartAsync(data.Path, settings, port);
        var restarted = Stopwatch.StartNew();
        using var again = await second.ClientAsync();
        await WaitAsync(again, id, x => ChildProcesses.Of(id).Count > 0 || Status(x) == "Completed", TimeSpan.FromSeconds(60), "resume within 60 s");
        Assert.True(restarted.Elapsed < TimeSpan.FromSeconds(60), $"resumed after {restarted.Elapsed}");
        var done = await WaitAsync(again, id, x => Status(x) is "Completed" or "Failed", Long, "completion");
        Assert.Equal("Completed", Status(done));
        var epochs = done.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()).ToList();
        Assert.Equal([1, 2, 3], epochs);
        // Epoch 1 was not trained again: its stored row is the one written before the kill.
        Assert.Equal(epochOneLoss, done.GetProperty("metrics")[0].GetProperty("trainLoss").GetDouble());
        Assert.Equal(1, done.GetProperty("restarts").GetInt32());
    }

    [Fact]
    public async Task KilledTrainingChildIsRetriedThenFailedWithTheReasonWhileTheServerKeepsAnswering()
    {
        using var factory = new MedSegAppFactory(new() { [DelayKey] = "100", ["MedSeg:Jobs:MaxRestarts"] = "2" });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var id = await LaunchAsync(client, Launch(await DatasetAsync(client), epochs: 50));
        var kills = 0;
        var clock = Stopwatch.StartNew();
        JsonElement e;
        while (true)
        {
            // The server answers throughout.
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/experiments")).StatusCode);
            e = await GetAsync(client, id);
            if (Status(e) is "Failed" or "Completed") break;
            foreach (var pid in ChildProcesses.Of(id))
            {
                ChildProcesses.KillHard(pid);
                kills++;
            }
            Assert.True(clock.Elapsed < Long, $"still {Status(e)} after {kills} kills");
            await Task.Delay(300);
        }
        Assert.Equal("Failed", Status(e));
        Assert.Equal(3, kills); // the first run and 2 restarts
        var error = e.GetProperty("error").GetString()!;
        Assert.Contains("killed by the operating system (signal 9", error);
        Assert.Contains("after 2 automatic restart(s)", error);
        Assert.Contains("Lower the batch size", error);
        Assert.Equal(2, e.GetProperty("restarts").GetInt32());
    }

    [Fact]
    public async Task PoisonRunOverTheMemoryCeilingEndsFailedAndARestartDoesNotStartItAgain()
    {
        using var data = new TempDirectory("medseg-poison");
        Guid id;
        // Admitted by the launch's estimate (the normal ceiling), then run on a node whose ceiling it exceeds: what a run
        // whose memory grows past every estimate meets.
        using (var webOnly = new MedSegAppFactory(new() { ["MedSeg:Jobs:RunServer"] = "false" }, data.Path))
        {
            using var client = await webOnly.CreateAuthenticatedClientAsync();
            id = await LaunchAsync(client, Launch(await DatasetAsync(client), epochs: 5));
        }
        using (var factory = new MedSegAppFactory(new() { ["MedSeg:Jobs:MemoryCeilingBytes"] = (200L << 20).ToString() }, data.Path))
        {
            using var client = await factory.CreateAuthenticatedClientAsync();
            var e = await WaitAsync(client, id, x => Status(x) is "Failed" or "Completed", Long, "the poison run's end");
            Assert.Equal("Failed", Status(e));
            Assert.Contains("memory ceiling of 200 MiB", e.GetProperty("error").GetString());
            Assert.Equal(0, e.GetProperty("restarts").GetInt32()); // a ceiling is not retried: it would be reached again
        }
        using var restarted = new MedSegAppFactory(dataRoot: data.Path);
        using var again = await restarted.CreateAuthenticatedClientAsync();
        var recovery = restarted.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<ExperimentRecoveryService>().Single();
        Assert.Equal(0, await recovery.RecoverAsync(CancellationToken.None));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("Failed", Status(await GetAsync(again, id)));
        Assert.Empty(ChildProcesses.Of(id));
    }

    [Fact]
    public async Task RestartWithQueuedJobsRunsEachOfThemExactlyOnceInOrder()
    {
        using var data = new TempDirectory("medseg-queue");
        var ids = new List<Guid>();
        using (var webOnly = new MedSegAppFactory(new() { ["MedSeg:Jobs:RunServer"] = "false" }, data.Path))
        {
            using var client = await webOnly.CreateAuthenticatedClientAsync();
            var dataset = await DatasetAsync(client, 8);
            for (var i = 0; i < 3; i++) ids.Add(await LaunchAsync(client, Launch(dataset, epochs: 1, name: $"queued-{i}")));
            await Task.Delay(1500);
            foreach (var id in ids) Assert.Equal("Queued", Status(await GetAsync(client, id)));
        }
        using var worker = new MedSegAppFactory(new() { ["MedSeg:Jobs:WorkerCount"] = "1" }, data.Path);
        using var again = await worker.CreateAuthenticatedClientAsync();
        var ended = new List<JsonElement>();
        foreach (var id in ids) ended.Add(await WaitAsync(again, id, x => Status(x) is "Completed" or "Failed", Long, $"{id} ends"));
        Assert.All(ended, e => Assert.Equal("Completed", Status(e)));
        var times = ended.Select(e => (Start: e.GetProperty("startedAt").GetDateTimeOffset(), End: e.GetProperty("finishedAt").GetDateTimeOffset())).ToList();
        for (var i = 1; i < times.Count; i++) Assert.True(times[i - 1].End <= times[i].Start, $"run {i} started before run {i - 1} ended");
        Assert.All(ended, e => Assert.Equal([1], e.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32())));
        // Exactly once: each job went through Processing a single time.
        await using var scope = worker.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var monitoring = worker.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        foreach (var id in ids)
        {
            var jobId = await db.Experiments.Where(x => x.Id == id).Select(x => x.JobId).SingleAsync();
            var history = monitoring.JobDetails(jobId).History;
            Assert.Equal(1, history.Count(h => h.StateName == "Processing"));
        }
    }

    [Fact]
    public async Task SecondExecutionOfOneExperimentsJobInOneProcessExitsWithoutTouchingTheRun()
    {
        using var factory = new MedSegAppFactory(new() { [DelayKey] = "100" });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var id = await LaunchAsync(client, Launch(await DatasetAsync(client), epochs: 3));
        await WaitAsync(client, id, x => Status(x) == "Running", Long, "running");
        await WaitForChildAsync(id, Long);
        string? runner;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            runner = await db.Experiments.Where(x => x.Id == id).Select(x => x.RunnerId).SingleAsync();
            var clock = Stopwatch.StartNew();
            await scope.ServiceProvider.GetRequiredService<TrainExperimentJob>().RunAsync(id, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the second execution waited for the run");
        }
        Assert.Single(ChildProcesses.Of(id));
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var row = await db.Experiments.AsNoTracking().SingleAsync(x => x.Id == id);
            Assert.Equal((ExperimentStatus.Running, runner), (row.Status, row.RunnerId));
        }
        var done = await WaitAsync(client, id, x => Status(x) is "Completed" or "Failed", Long, "completion");
        Assert.Equal("Completed", Status(done));
        Assert.Equal([1, 2, 3], done.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()));
    }

    [Fact]
    public async Task CancelKillsAChildThatIgnoresItAndTheCancelSticks()
    {
        // The child sleeps a minute after its first batch: it does not look at the cancel until then.
        using var factory = new MedSegAppFactory(new() { [DelayKey] = "60000", ["MedSeg:Jobs:CancelGraceSeconds"] = "2" });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var id = await LaunchAsync(client, Launch(await DatasetAsync(client), epochs: 3));
        await WaitAsync(client, id, x => Status(x) == "Running", Long, "running");
        await WaitForChildAsync(id, Long);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync($"/api/experiments/{id}/cancel", null)).StatusCode);
        await WaitForNoChildAsync(id, TimeSpan.FromSeconds(20));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the child was killed after {clock.Elapsed}");
        Assert.Equal("Cancelled", Status(await GetAsync(client, id)));

        // A job that starts after the cancel (a Hangfire re-fetch, the dashboard's Requeue) leaves it Cancelled.
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<TrainExperimentJob>().RunAsync(id, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Equal("Cancelled", Status(await GetAsync(client, id)));
        Assert.Empty(ChildProcesses.Of(id));
    }
}
