using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

// Load test of a running MedSeg server, loopback only, bounded in time and in requests, stopping by itself
// (scripts/load-test.sh starts the server and calls this). It uploads a small synthetic dataset, launches the trainings,
// then runs N signed-in clients browsing pages and APIs while M SignalR clients follow a live experiment, and prints
// p50/p95 latencies, errors and the memory of the server and its training children.
var options = Args.Parse(args);
var baseUri = new Uri(options.Get("url", "http://127.0.0.1:5080"));
if (!baseUri.IsLoopback) { Console.Error.WriteLine("load test: the server must be on a loopback address."); return 2; }
var email = options.Get("email", "admin@medseg.test");
var password = options.Get("password", "Admin-Pass-1");
var clients = int.Parse(options.Get("clients", "50"), CultureInfo.InvariantCulture);
var hubClients = int.Parse(options.Get("hub-clients", "20"), CultureInfo.InvariantCulture);
var trainings = int.Parse(options.Get("trainings", "2"), CultureInfo.InvariantCulture);
var duration = TimeSpan.FromSeconds(int.Parse(options.Get("seconds", "60"), CultureInfo.InvariantCulture));
var maxRequests = int.Parse(options.Get("max-requests", "20000"), CultureInfo.InvariantCulture);
var serverPid = int.Parse(options.Get("server-pid", "0"), CultureInfo.InvariantCulture);

using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };
var token = (await (await http.PostAsJsonAsync("/api/tokens", new { email, password })).EnsureSuccessStatusCode()
    .Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

Console.WriteLine("Uploading a synthetic dataset (64 cases, 128×128) and launching the trainings…");
using var form = new MultipartFormDataContent { { new StringContent("load-test"), "name" }, { new ByteArrayContent(Synthetic.Zip(64, 128)), "file", "data.zip" } };
var upload = await http.PostAsync("/api/datasets", form);
if (!upload.IsSuccessStatusCode) { Console.Error.WriteLine($"upload failed: {await upload.Content.ReadAsStringAsync()}"); return 1; }
var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
var experiments = new List<Guid>();
for (var i = 0; i < trainings; i++)
{
    var launch = await http.PostAsJsonAsync("/api/experiments",
        new { datasetId, model = "unext", epochs = 200, batchSize = 4, imageSize = 128, learningRate = 0.002, seed = i + 1, name = $"load-{i}" });
    if (!launch.IsSuccessStatusCode) { Console.Error.WriteLine($"launch failed: {await launch.Content.ReadAsStringAsync()}"); return 1; }
    experiments.Add((await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
}
var watch = Stopwatch.StartNew();
while (watch.Elapsed < TimeSpan.FromMinutes(3))
{
    var states = await Task.WhenAll(experiments.Select(id => http.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}")));
    if (states.All(s => s.GetProperty("summary").GetProperty("status").GetString() == "Running")) break;
    await Task.Delay(500);
}
Console.WriteLine($"Both trainings running after {watch.Elapsed.TotalSeconds:F0} s; load for {duration.TotalSeconds:F0} s or {maxRequests} requests.");

var hubs = new List<HubConnection>();
var hubMessages = 0L;
for (var i = 0; i < hubClients; i++)
{
    var hub = new HubConnectionBuilder().WithUrl(new Uri(baseUri, "/hubs/experiments"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
    hub.On<JsonElement>("BatchProgress", _ => Interlocked.Increment(ref hubMessages));
    hub.On<JsonElement>("EpochCompleted", _ => Interlocked.Increment(ref hubMessages));
    hub.On<JsonElement>("PreviewsUpdated", _ => Interlocked.Increment(ref hubMessages));
    hub.On<JsonElement>("StatusChanged", _ => Interlocked.Increment(ref hubMessages));
    await hub.StartAsync();
    await hub.InvokeAsync("Join", experiments[i % experiments.Count]);
    hubs.Add(hub);
}

string[] pages = ["/", "/datasets", $"/datasets/{datasetId}", "/experiments", $"/experiments/{experiments[0]}"];
string[] apis = ["/api/datasets", $"/api/datasets/{datasetId}", "/api/experiments", $"/api/experiments/{experiments[0]}", $"/api/experiments/{experiments[^1]}"];
var pageTimes = new List<double>();
var apiTimes = new List<double>();
var errors = new List<string>();
var requests = 0;
var memory = new List<(long Server, long Children)>();
using var stop = new CancellationTokenSource(duration);
var sampler = Task.Run(async () =>
{
    while (!stop.IsCancellationRequested)
    {
        memory.Add((serverPid > 0 ? Proc.Resident(serverPid) : 0, Proc.ChildrenResident()));
        try { await Task.Delay(1000, stop.Token); } catch (OperationCanceledException) { }
    }
});
var workers = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
{
    using var client = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
    client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    var random = new Random(c);
    while (!stop.IsCancellationRequested && Interlocked.Increment(ref requests) <= maxRequests)
    {
        var isPage = random.Next(2) == 0;
        var path = isPage ? pages[random.Next(pages.Length)] : apis[random.Next(apis.Length)];
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await client.GetAsync(path, stop.Token);
            await response.Content.ReadAsByteArrayAsync(stop.Token);
            var ms = clock.Elapsed.TotalMilliseconds;
            lock (errors)
            {
                if (!response.IsSuccessStatusCode) errors.Add($"{(int)response.StatusCode} {path}");
                (isPage ? pageTimes : apiTimes).Add(ms);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            lock (errors) errors.Add($"{e.GetType().Name} {path}: {e.Message}");
        }
        await Task.Delay(random.Next(50, 250));
    }
})).ToArray();
await Task.WhenAll(workers);
stop.Cancel();
await sampler;
var hubStates = hubs.Count(h => h.State == HubConnectionState.Connected);
foreach (var hub in hubs) await hub.DisposeAsync();
foreach (var id in experiments) await http.PostAsync($"/api/experiments/{id}/cancel", null);

static double Pct(List<double> v, double p) => v.Count == 0 ? double.NaN : v.Order().ElementAt((int)Math.Min(v.Count - 1, Math.Floor(p * v.Count)));
Console.WriteLine();
Console.WriteLine($"| what | requests | p50 ms | p95 ms |");
Console.WriteLine($"|---|---|---|---|");
Console.WriteLine(FormattableString.Invariant($"| pages (Blazor, prerendered) | {pageTimes.Count} | {Pct(pageTimes, 0.5):F0} | {Pct(pageTimes, 0.95):F0} |"));
Console.WriteLine(FormattableString.Invariant($"| API | {apiTimes.Count} | {Pct(apiTimes, 0.5):F0} | {Pct(apiTimes, 0.95):F0} |"));
Console.WriteLine();
Console.WriteLine($"clients {clients}, SignalR clients {hubClients} ({hubStates} still connected at the end, {hubMessages} messages received), trainings {trainings}");
Console.WriteLine($"errors: {errors.Count}{(errors.Count > 0 ? " — " + string.Join("; ", errors.Take(10)) : "")}");
if (memory.Count > 0)
    Console.WriteLine(FormattableString.Invariant(
        $"server resident memory: median {memory.Select(m => m.Server).Order().ElementAt(memory.Count / 2) >> 20} MiB, peak {memory.Max(m => m.Server) >> 20} MiB; training children together: peak {memory.Max(m => m.Children) >> 20} MiB"));
return errors.Count == 0 && hubStates == hubClients ? 0 : 1;

internal static class Proc
{
    public static long Resident(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return 0;
        }
    }

    /// <summary>The resident memory of every training child (medseg run-experiment) on this machine.</summary>
    public static long ChildrenResident()
    {
        long total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("run-experiment")) total += Resident(pid);
            }
            catch (IOException)
            {
            }
        }
        return total;
    }
}

internal static class Synthetic
{
    public static byte[] Zip(int count, int size)
    {
        var random = new Random(7);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < count; i++)
            {
                var (cx, cy, r) = (random.Next(size / 4, 3 * size / 4), random.Next(size / 4, 3 * size / 4), random.Next(size / 10, size / 4));
                var image = new byte[size * size * 3];
                var mask = new byte[size * size];
                for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
                    mask[y * size + x] = inside ? (byte)255 : (byte)0;
                    for (var c = 0; c < 3; c++) image[(y * size + x) * 3 + c] = (byte)Math.Clamp((inside ? 180 : 60) + random.Next(-30, 30), 0, 255);
                }
                Add(zip, $"images/case-{i:D3}.png", Png(image, size, 3));
                Add(zip, $"masks/case-{i:D3}.png", Png(mask, size, 1));
            }
        }
        return buffer.ToArray();
    }

    private static byte[] Png(byte[] pixels, int size, int bands)
    {
        using var image = NetVips.Image.NewFromMemory(pixels, size, size, bands, NetVips.Enums.BandFormat.Uchar);
        return image.PngsaveBuffer();
    }

    private static void Add(ZipArchive zip, string name, byte[] content)
    {
        using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
        stream.Write(content);
    }
}

internal sealed class Args(Dictionary<string, string> values)
{
    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2) values[args[i].TrimStart('-')] = args[i + 1];
        return new Args(values);
    }
}
