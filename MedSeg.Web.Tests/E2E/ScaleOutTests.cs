using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace MedSeg.Web.Tests.E2E;

/// <summary>
/// Scale-out with real processes: a real redis-server, one web node and two worker nodes as separate OS processes sharing
/// the SQLite file and the data folder, with Hangfire on Redis storage, SignalR through the Redis backplane and the key ring
/// in Redis. A run launched through the web node's API runs on a worker; a SignalR client connected to the web node sees its
/// batch progress and epochs (sent by the worker); the worker is killed with SIGKILL and the other resumes the run from its
/// checkpoint within 60 s, each epoch recorded once; a second web node accepts the first one's cookie.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class ScaleOutTests
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task RunOnAWorkerIsSeenLiveThroughTheWebNodeSurvivesTheWorkersKillAndCookiesWorkOnEveryWebNode()
    {
        Assert.True(RedisServer.Executable() is not null, RedisServer.Missing);
        using var redis = await RedisServer.StartAsync();
        using var data = new TempDirectory("medseg-cluster");
        Dictionary<string, string> Node(string role, string name) => new()
        {
            ["MedSeg__Role"] = role,
            ["MedSeg__Jobs__NodeName"] = name,
            ["MedSeg__Jobs__Storage"] = "Redis",
            ["MedSeg__Redis__ConnectionString"] = redis.ConnectionString,
            // Slow batches (8 per epoch at 150 ms) so that the kill lands mid-run.
            ["MedSeg__Jobs__ChildEnvironment__MEDSEG_FAULT_BATCH_DELAY_MS"] = "150",
        };
        using var web = await ServerProcess.StartAsync(data.Path, Node("web", "web-1"));
        var workers = new List<ServerProcess>();
        try
        {
            workers.Add(await ServerProcess.StartAsync(data.Path, Node("worker", "worker-a"), readyPath: "/health"));
            workers.Add(await ServerProcess.StartAsync(data.Path, Node("worker", "worker-b"), readyPath: "/health"));
            using var client = await web.ClientAsync();

            // A worker answers its health endpoint and nothing else: no pages, no API.
            using (var probe = new HttpClient { BaseAddress = workers[0].BaseUri })
            {
                var health = await probe.GetFromJsonAsync<JsonElement>("/health");
                Assert.Equal("worker", health.GetProperty("role").GetString());
                Assert.Equal("worker-a", health.GetProperty("node").GetString());
                Assert.Equal(HttpStatusCode.NotFound, (await probe.GetAsync("/account/login")).StatusCode);
                Assert.Equal(HttpStatusCode.NotFound, (await probe.GetAsync("/api/experiments")).StatusCode);
            }

            var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(20, 32)));
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
            var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

            // Live messages through the web node's hub, sent by whichever worker runs the job.
            var batches = new ConcurrentQueue<BatchProgressMessage>();
            var epochs = new ConcurrentQueue<EpochCompletedMessage>();
            var token = client.DefaultRequestHeaders.Authorization!.Parameter!;
            await using var hub = new HubConnectionBuilder()
                .WithUrl(new Uri(web.BaseUri, ExperimentHub.Url), o =>
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                    o.Transports = HttpTransportType.LongPolling;
                })
                .Build();
            hub.On<BatchProgressMessage>(nameof(IExperimentClient.BatchProgress), m => batches.Enqueue(m));
            hub.On<EpochCompletedMessage>(nameof(IExperimentClient.EpochCompleted), m => epochs.Enqueue(m));
            await hub.StartAsync();

            var launch = await client.PostAsJsonAsync("/api/experiments",
                new { datasetId, model = "unext", epochs = 3, batchSize = 2, imageSize = 32, learningRate = 0.003, name = "cluster run" });
            Assert.True(launch.StatusCode == HttpStatusCode.Accepted, await launch.Content.ReadAsStringAsync());
            var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            await hub.InvokeAsync(nameof(ExperimentHub.Join), id);

            // The web node runs no job: the run's child belongs to a worker.
            var first = await WaitForRunnerAsync(id, workers, null, Long);
            Assert.NotEqual(web.Id, first.Id);
            var e1 = await WaitAsync(client, id, x => x.GetProperty("metrics").GetArrayLength() >= 1, Long, "epoch 1");
            Assert.Equal("Running", Status(e1));
            await Until(() => !batches.IsEmpty && !epochs.IsEmpty, TimeSpan.FromSeconds(20), "batch progress and an epoch through the web node's hub");
            Assert.All(batches, b => Assert.Equal(id, b.ExperimentId));
            Assert.Contains(epochs, m => m.Point.Epoch == 1);

            // Kill the worker running it (SIGKILL: no shutdown code); its child ends when its parent's pipe closes.
            first.KillHard();
            var killed = Stopwatch.StartNew();
            var second = await WaitForRunnerAsync(id, workers, first, TimeSpan.FromSeconds(60));
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(60), $"resumed on the other worker after {killed.Elapsed}");
            Assert.NotEqual(first.Id, second.Id);

            var done = await WaitAsync(client, id, x => Status(x) is "Completed" or "Failed", Long, "completion");
            Assert.Equal("Completed", Status(done));
            var recorded = done.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("epoch").GetInt32()).ToList();
            Assert.Equal([1, 2, 3], recorded);
            Assert.Equal(1, done.GetProperty("restarts").GetInt32());

            // The Nodes page's twin lists every node that advertised itself; the killed worker is there until it goes stale.
            var nodes = await client.GetFromJsonAsync<JsonElement>("/api/admin/nodes");
            var names = nodes.EnumerateArray().Select(n => n.GetProperty("name").GetString()).ToList();
            Assert.Contains("web-1", names);
            Assert.Contains("worker-b", names);
            var b = nodes.EnumerateArray().Single(n => n.GetProperty("name").GetString() == "worker-b");
            Assert.Equal("worker", b.GetProperty("role").GetString());
            Assert.Contains("training", b.GetProperty("queues").EnumerateArray().Select(q => q.GetString()));

            // A second web node with the same key ring (in Redis) accepts the first node's sign-in cookie.
            using var web2 = await ServerProcess.StartAsync(data.Path, Node("web", "web-2"));
            using var plain = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = web.BaseUri };
            var (cookie, _) = await CookieSignIn.SignInAsync(plain);
            using var other = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = web2.BaseUri };
            other.DefaultRequestHeaders.Add("Cookie", cookie);
            var me = await other.GetAsync("/api/users/me");
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
            Assert.Contains(MedSegAppFactory.AdminEmail, await me.Content.ReadAsStringAsync());
        }
        finally
        {
            foreach (var w in workers) w.Dispose();
        }
    }

    private static string Status(JsonElement e) => e.GetProperty("summary").GetProperty("status").GetString()!;

    private static async Task<JsonElement> WaitAsync(HttpClient client, Guid id, Func<JsonElement, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        JsonElement e;
        do
        {
            e = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");
            if (done(e)) return e;
            await Task.Delay(200);
        }
        while (clock.Elapsed < timeout);
        throw new TimeoutException($"{what}: not reached within {timeout}; the experiment is {e}");
    }

    private static async Task Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout) throw new TimeoutException($"{what}: not seen within {timeout}");
            await Task.Delay(100);
        }
    }

    /// <summary>The worker whose training child runs the experiment now (not <paramref name="except"/>).</summary>
    private static async Task<ServerProcess> WaitForRunnerAsync(Guid id, IReadOnlyList<ServerProcess> workers, ServerProcess? except, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            foreach (var child in ChildProcesses.Of(id))
            {
                var parent = ParentOf(child);
                if (workers.FirstOrDefault(w => w.Id == parent && w != except) is { } worker) return worker;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"no worker{(except is null ? "" : " other than the killed one")} ran the experiment within {timeout}");
    }

    private static int ParentOf(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its closing parenthesis.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
