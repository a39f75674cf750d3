using System.Diagnostics;
using System.Net.Sockets;

namespace MedSeg.Web.Tests.Support;

/// <summary>A real <c>redis-server</c> (Debian's package; scripts/test.sh installs it) on a free loopback port, without
/// persistence, stopped with the test.</summary>
public sealed class RedisServer : IDisposable
{
    public const string Missing = "redis-server is missing (the multi-node test runs a real one). Run the tests with scripts/test.sh as the " +
                                  "README says (it installs redis-server), or install it as root: apt-get install --no-install-recommends redis-server.";

    private readonly Process process;

    private RedisServer(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static string? Executable() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);

    public static async Task<RedisServer> StartAsync()
    {
        var exe = Executable() ?? throw new InvalidOperationException(Missing);
        var port = ServerProcess.FreePort();
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes" })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new RedisServer(process, port);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < until)
        {
            if (process.HasExited) throw new InvalidOperationException($"redis-server exited at start with {process.ExitCode}");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", port);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }
        server.Dispose();
        throw new TimeoutException("redis-server did not listen within 20 s");
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit(5_000);
        }
        process.Dispose();
    }
}
