using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;

namespace MedSeg.Web.Tests.Support;

/// <summary>The web app as its own OS process (<c>dotnet MedSeg.Web.dll</c> from this build), so that a test can kill it with
/// SIGKILL and start it again on the same data folder.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder log = new();

    private ServerProcess(Process process, Uri baseUri)
    {
        this.process = process;
        BaseUri = baseUri;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseUri { get; }
    public int Id => process.Id;
    public string Log { get { lock (log) return log.ToString(); } }

    /// <summary>Starts the app and waits until <paramref name="readyPath"/> answers 200 (a worker: <c>/health</c>).</summary>
    public static async Task<ServerProcess> StartAsync(string dataRoot, IReadOnlyDictionary<string, string>? settings = null, int? port = null,
        string readyPath = "/account/login")
    {
        var listen = port ?? FreePort();
        var info = new ProcessStartInfo(MedSeg.Engine.Isolation.ChildCommands.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataRoot,
        };
        foreach (var a in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "MedSeg.Web.dll"), "--urls", $"http://127.0.0.1:{listen}" })
            info.ArgumentList.Add(a);
        info.Environment["MedSeg__DataRoot"] = dataRoot;
        info.Environment["MedSeg__Admin__Email"] = MedSegAppFactory.AdminEmail;
        info.Environment["MedSeg__Admin__Password"] = MedSegAppFactory.AdminPassword;
        info.Environment["MedSeg__Training__Device"] = "cpu";
        info.Environment["MedSeg__Training__Threads"] = "1";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) info.Environment[k] = v;
        var server = new ServerProcess(Process.Start(info)!, new Uri($"http://127.0.0.1:{listen}"));
        using var probe = new HttpClient { BaseAddress = server.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < until)
        {
            if (server.process.HasExited) throw new InvalidOperationException("The server exited at start:\n" + server.Log);
            try
            {
                var response = await probe.GetAsync(readyPath);
                if (response.StatusCode == HttpStatusCode.OK) return server;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        server.Dispose();
        throw new TimeoutException("The server did not answer within 90 s:\n" + server.Log);
    }

    /// <summary>A client with the admin's bearer token.</summary>
    public async Task<HttpClient> ClientAsync()
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        var response = await client.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("token").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>SIGKILL, as the OOM killer or a power cut would end it: no shutdown code runs.</summary>
    public void KillHard()
    {
        process.Kill();
        process.WaitForExit(10_000);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        process.Dispose();
    }
}

/// <summary>The training and prediction children alive on this machine, found by their plan file's path.</summary>
public static class ChildProcesses
{
    public static IReadOnlyList<int> Of(Guid experimentId) => Matching(experimentId.ToString("N"));

    /// <summary>Live medseg children whose command line contains <paramref name="marker"/> (e.g. a folder of their plan files).</summary>
    public static IReadOnlyList<int> Matching(string marker)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.Contains("medseg.dll") && cmdline.Contains(marker) && !IsZombie(dir)) pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return pids;
    }

    public static void KillHard(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            p.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
        }
    }

    private static bool IsZombie(string dir)
    {
        var stat = File.ReadAllText(Path.Combine(dir, "stat"));
        return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
    }
}
