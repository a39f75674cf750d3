using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// The process's one connection to <see cref="RedisOptions.ConnectionString"/> (Hangfire's Redis storage and the
/// data-protection key ring share it; the SignalR backplane opens its own from the same string). Opened on first use; a
/// server that cannot be reached fails the start with the setting named.
/// </summary>
public sealed class RedisConnection(IOptions<RedisOptions> options) : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> multiplexer = new(() => Connect(options.Value));

    public bool Enabled => options.Value.Enabled;

    public ConnectionMultiplexer Multiplexer => multiplexer.Value;

    private static ConnectionMultiplexer Connect(RedisOptions redis)
    {
        if (!redis.Enabled) throw new InvalidOperationException("MedSeg:Redis:ConnectionString (MedSeg__Redis__ConnectionString) is empty.");
        try
        {
            return ConnectionMultiplexer.Connect(redis.ConnectionString);
        }
        catch (Exception e) when (e is RedisException or ArgumentException)
        {
            throw new InvalidOperationException($"Could not connect to Redis at MedSeg:Redis:ConnectionString ('{Display(redis.ConnectionString)}'): " +
                                                $"{e.Message} Start redis-server there, or correct the setting (MedSeg__Redis__ConnectionString).", e);
        }
    }

    /// <summary>The connection string without its password, for messages.</summary>
    public static string Display(string connectionString) => string.Join(',', connectionString.Split(',')
        .Select(part => part.TrimStart().StartsWith("password", StringComparison.OrdinalIgnoreCase) ? "password=***" : part));

    public void Dispose()
    {
        if (multiplexer.IsValueCreated) multiplexer.Value.Dispose();
    }
}
