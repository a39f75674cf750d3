using System.Globalization;
using System.Net;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// <c>MedSeg:ForwardedHeaders</c>: behind a reverse proxy that terminates HTTPS, the proxy's <c>X-Forwarded-For/Proto/Host</c>
/// tell the app the client's address (for the sign-in rate limit), the scheme (Secure cookies, HSTS, the origin check) and
/// the host. Read only from the proxies trusted here: loopback always, plus <see cref="KnownProxies"/> and <see cref="KnownNetworks"/>.
/// </summary>
public sealed class ReverseProxyOptions
{
    public const string Section = "MedSeg:ForwardedHeaders";

    /// <summary>Off by default: a server reached directly must not believe headers any client can send.</summary>
    public bool Enabled { get; set; }
    /// <summary>IP addresses of the proxies whose forwarded headers are believed (besides loopback), e.g. <c>10.0.0.5</c>.</summary>
    public List<string> KnownProxies { get; set; } = [];
    /// <summary>Networks (CIDR, e.g. <c>10.0.0.0/8</c>, <c>fd00::/8</c>) of such proxies.</summary>
    public List<string> KnownNetworks { get; set; } = [];
    /// <summary>How many proxies in a chain are unwound (entries of <c>X-Forwarded-For</c> read from the right).</summary>
    public int ForwardLimit { get; set; } = 1;

    public IReadOnlyList<IPAddress> Proxies => [.. KnownProxies.Select(p => IPAddress.Parse(p.Trim()))];
    public IReadOnlyList<System.Net.IPNetwork> Networks => [.. KnownNetworks.Select(n => System.Net.IPNetwork.Parse(n.Trim()))];

    public static ReverseProxyOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(Section).Get<ReverseProxyOptions>() ?? new ReverseProxyOptions();
        options.Check();
        return options;
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming every bad value.</summary>
    public void Check()
    {
        List<string> bad = [];
        foreach (var proxy in KnownProxies)
        {
            if (!IPAddress.TryParse(proxy?.Trim(), out _))
                bad.Add($"{nameof(KnownProxies)} has '{proxy}', which is not an IP address (write e.g. 10.0.0.5 or fd00::5)");
        }
        foreach (var network in KnownNetworks)
        {
            var text = network?.Trim() ?? "";
            if (!System.Net.IPNetwork.TryParse(text, out var parsed))
                bad.Add($"{nameof(KnownNetworks)} has '{network}', which is not a network in CIDR notation (write e.g. 10.0.0.0/8)");
            else if (!IPAddress.TryParse(text.Split('/')[0], out var start) || !start.Equals(parsed.BaseAddress))
                bad.Add($"{nameof(KnownNetworks)} has '{network}', whose address has bits set past the prefix (did you mean {parsed}?)");
        }
        if (ForwardLimit < 1) bad.Add($"{nameof(ForwardLimit)} is {ForwardLimit.ToString(CultureInfo.InvariantCulture)}; it must be at least 1 (the number of proxies in front of the app)");
        if (bad.Count > 0) throw new InvalidOperationException($"{Section}: {string.Join("; ", bad)}. See the README, \"HTTPS and reverse proxy\".");
    }
}

/// <summary><c>MedSeg:DataProtection</c>: where the keys that sign cookies, antiforgery tokens and hub tickets are kept.</summary>
public sealed class KeyStorageOptions
{
    public const string Section = "MedSeg:DataProtection";
    /// <summary>The one application name of every node: nodes that share <see cref="KeysPath"/> then read each other's cookies.</summary>
    public const string ApplicationName = "MedSeg";
    /// <summary>The Redis key of the key ring when <see cref="RedisOptions.ConnectionString"/> is set (then <see cref="KeysPath"/> is unused).</summary>
    public const string RedisKey = "medseg:dataprotection-keys";

    /// <summary>Key ring folder; empty = <c>&lt;DataRoot&gt;/keys</c>. Several nodes behind one address must share it.</summary>
    public string KeysPath { get; set; } = "";

    public string ResolvedKeysPath(string dataRoot) =>
        Path.GetFullPath(string.IsNullOrWhiteSpace(KeysPath) ? Path.Combine(dataRoot, "keys") : KeysPath);
}

/// <summary><c>MedSeg:Https</c>: redirecting plain HTTP to HTTPS (off unless asked: behind a TLS proxy the app sees HTTPS through
/// the forwarded headers, and a server on plain HTTP only must not redirect to a port nobody listens on).</summary>
public sealed class HttpsOptions
{
    public const string Section = "MedSeg:Https";
    /// <summary>Answer plain-HTTP requests with a redirect to HTTPS.</summary>
    public bool Redirect { get; set; }
    /// <summary>The HTTPS port to redirect to; 0 = the one Kestrel listens on (443 behind a proxy must be set).</summary>
    public int Port { get; set; }
}
