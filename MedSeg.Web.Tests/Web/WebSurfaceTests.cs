using System.Net;
using Microsoft.AspNetCore.Builder;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Infrastructure;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Tests.Web;

/// <summary>Forwarded headers from trusted proxies, HSTS, Secure cookies and the data-protection key ring in the data folder.</summary>
[Collection(AppCollection.Name)]
public sealed class WebSurfaceTests
{
    private static Dictionary<string, string?> Settings(params (string Key, string? Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["MedSeg:Jobs:RunServer"] = "false" };
        foreach (var (k, v) in extra) settings[k] = v;
        return settings;
    }

    private static Dictionary<string, string?> BehindProxy(params (string Key, string? Value)[] extra) =>
        Settings([("MedSeg:ForwardedHeaders:Enabled", "true"), .. extra]);

    [Theory]
    [InlineData("KnownProxies:0", "10.0.0.300", "10.0.0.300")]
    [InlineData("KnownNetworks:0", "10.0.0.0/33", "10.0.0.0/33")]
    [InlineData("KnownNetworks:0", "10.0.0.1/8", "10.0.0.1/8")]
    [InlineData("ForwardLimit", "0", "ForwardLimit is 0")]
    public void BadForwardedHeadersSettingStopsTheStartNamingTheValue(string key, string value, string named)
    {
        using var factory = new MedSegAppFactory(BehindProxy(("MedSeg:ForwardedHeaders:" + key, value)));
        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        while (e is not InvalidOperationException && e.InnerException is not null) e = e.InnerException;
        Assert.Contains("MedSeg:ForwardedHeaders", e.Message);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void ForwardedHeadersOptionsCheckAcceptsGoodValues()
    {
        var options = new ReverseProxyOptions { Enabled = true, KnownProxies = ["10.0.0.5", "fd00::5"], KnownNetworks = ["10.0.0.0/8", "fd00::/8"], ForwardLimit = 2 };
        options.Check();
        Assert.Equal(2, options.Proxies.Count);
        Assert.Equal(2, options.Networks.Count);
    }

    /// <summary>Sets the connection's remote address from the test's <c>X-Test-Remote</c> header, before the app's pipeline
    /// (the test server has no real connection).</summary>
    private sealed class RemoteAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers.TryGetValue("X-Test-Remote", out var remote)) context.Connection.RemoteIpAddress = IPAddress.Parse(remote.ToString());
                return nextMiddleware(context);
            });
            next(app);
        };
    }

    private static WebApplicationFactory<Program> WithRemoteAddresses(MedSegAppFactory factory) =>
        factory.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddTransient<IStartupFilter, RemoteAddressFilter>()));

    /// <summary>A wrong-password token request from <paramref name="remote"/> (the connection's address) forwarding for
    /// <paramref name="client"/>; returns the status code.</summary>
    private static async Task<int> TokenAttemptAsync(WebApplicationFactory<Program> factory, string remote, string? client)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/tokens")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { email = MedSegAppFactory.AdminEmail, password = "wrong-password" }),
        };
        request.Headers.Add("X-Test-Remote", remote);
        if (client is not null) request.Headers.Add("X-Forwarded-For", client);
        return (int)(await factory.CreateClient().SendAsync(request)).StatusCode;
    }

    [Fact]
    public async Task RateLimiterSeesClientAddressesForwardedByATrustedProxy()
    {
        using var app = new MedSegAppFactory(BehindProxy(("MedSeg:Limits:SignInPermitsPerMinute", "1"),
            ("MedSeg:ForwardedHeaders:KnownProxies:0", "10.0.0.5")));
        using var factory = WithRemoteAddresses(app);
        Assert.Equal(401, await TokenAttemptAsync(factory, "10.0.0.5", "203.0.113.1"));
        Assert.Equal(429, await TokenAttemptAsync(factory, "10.0.0.5", "203.0.113.1"));
        Assert.Equal(401, await TokenAttemptAsync(factory, "10.0.0.5", "203.0.113.2")); // another client behind the same proxy

        // A proxy that is not trusted: its X-Forwarded-For is ignored, so its clients share its address.
        Assert.Equal(401, await TokenAttemptAsync(factory, "10.0.0.9", "203.0.113.3"));
        Assert.Equal(429, await TokenAttemptAsync(factory, "10.0.0.9", "203.0.113.4"));
    }

    [Fact]
    public async Task ForwardedHeadersAreIgnoredWhenNotEnabled()
    {
        using var app = new MedSegAppFactory(Settings(("MedSeg:Limits:SignInPermitsPerMinute", "1")));
        using var factory = WithRemoteAddresses(app);
        Assert.Equal(401, await TokenAttemptAsync(factory, "127.0.0.1", "203.0.113.1"));
        Assert.Equal(429, await TokenAttemptAsync(factory, "127.0.0.1", "203.0.113.2"));
    }

    [Fact]
    public async Task AuthCookieIsSecureWhenTheProxyForwardsHttps()
    {
        using var proxied = new MedSegAppFactory(BehindProxy());
        var https = (await CookieSignIn.SignInAsync(proxied, headers: new Dictionary<string, string> { ["X-Forwarded-Proto"] = "https" })).SetCookie;
        Assert.Contains("; secure", https, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; httponly", https, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", https, StringComparison.OrdinalIgnoreCase);
        var http = (await CookieSignIn.SignInAsync(proxied)).SetCookie;
        Assert.DoesNotContain("; secure", http, StringComparison.OrdinalIgnoreCase);

        // Without forwarded headers enabled, a client cannot claim HTTPS (and it changes nothing).
        using var direct = new MedSegAppFactory(Settings());
        var claimed = (await CookieSignIn.SignInAsync(direct, headers: new Dictionary<string, string> { ["X-Forwarded-Proto"] = "https" })).SetCookie;
        Assert.DoesNotContain("; secure", claimed, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task HstsIsSentOnHttpsOutsideDevelopment()
    {
        using var development = new MedSegAppFactory(BehindProxy());
        using var production = development.WithWebHostBuilder(b => b.UseEnvironment("Production"));
        HttpRequestMessage Request(string proto)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/account/login");
            request.Headers.Add("X-Forwarded-Proto", proto);
            request.Headers.Add("X-Forwarded-Host", "medseg.example.org"); // HSTS is never sent for localhost
            return request;
        }
        var secure = await production.CreateClient().SendAsync(Request("https"));
        Assert.Equal(HttpStatusCode.OK, secure.StatusCode);
        Assert.StartsWith("max-age=", secure.Headers.GetValues("Strict-Transport-Security").Single());
        Assert.False((await production.CreateClient().SendAsync(Request("http"))).Headers.Contains("Strict-Transport-Security"));
        Assert.False((await development.CreateClient().SendAsync(Request("https"))).Headers.Contains("Strict-Transport-Security"));
    }

    [Fact]
    public async Task OriginCheckComparesWithTheForwardedSchemeAndHost()
    {
        using var factory = new MedSegAppFactory(BehindProxy());
        var cookie = (await CookieSignIn.SignInAsync(factory)).Cookie;
        async Task<HttpStatusCode> LaunchAsync(string origin)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/experiments")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { datasetId = Guid.NewGuid(), model = "unext" }),
            };
            request.Headers.Add("Cookie", cookie);
            request.Headers.Add("Origin", origin);
            request.Headers.Add("X-Forwarded-Proto", "https");
            request.Headers.Add("X-Forwarded-Host", "medseg.example.org");
            return (await factory.CreateClient().SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.BadRequest, await LaunchAsync("https://medseg.example.org")); // passes: the launch's own 400
        Assert.Equal(HttpStatusCode.Forbidden, await LaunchAsync("http://localhost"));            // the proxy-side address
    }

    [Fact]
    public async Task CookieAndHubTicketFromOneInstanceAreAcceptedByTheNextOnTheSameDataFolder()
    {
        using var data = new TempDirectory("medseg-keys");
        string cookie, ticket, userId;
        using (var first = new MedSegAppFactory(Settings(), data.Path))
        {
            cookie = (await CookieSignIn.SignInAsync(first)).Cookie;
            await using var scope = first.Services.CreateAsyncScope();
            var users = scope.ServiceProvider.GetRequiredService<UserManager<MedSeg.Data.Entities.ApplicationUser>>();
            userId = (await users.FindByEmailAsync(MedSegAppFactory.AdminEmail))!.Id;
            ticket = scope.ServiceProvider.GetRequiredService<ApiTokenService>().CreateHubTicket(userId);
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(data.Path, "keys"), "key-*.xml"));

        using var second = new MedSegAppFactory(Settings(), data.Path);
        var client = second.CreateClient();
        var withCookie = new HttpRequestMessage(HttpMethod.Get, "/api/experiments");
        withCookie.Headers.Add("Cookie", cookie);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(withCookie)).StatusCode);
        var withTicket = new HttpRequestMessage(HttpMethod.Get, "/api/experiments");
        withTicket.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ticket);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(withTicket)).StatusCode);
        await using var scope2 = second.Services.CreateAsyncScope();
        Assert.Equal(userId, await scope2.ServiceProvider.GetRequiredService<ApiTokenService>().ValidateAsync(ticket));

        // Control: a data folder with other keys does not accept them.
        using var other = new MedSegAppFactory(Settings());
        var foreign = new HttpRequestMessage(HttpMethod.Get, "/api/experiments");
        foreign.Headers.Add("Cookie", cookie);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.CreateClient().SendAsync(foreign)).StatusCode);
    }

    [Fact]
    public void KeysGoToTheConfiguredFolderUnderTheFixedApplicationName()
    {
        using var keys = new TempDirectory("medseg-keyring");
        using var factory = new MedSegAppFactory(Settings(("MedSeg:DataProtection:KeysPath", keys.Path)));
        factory.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("x");
        Assert.NotEmpty(Directory.GetFiles(keys.Path, "key-*.xml"));
        Assert.False(Directory.Exists(Path.Combine(factory.DataRoot, "keys")));
        Assert.Equal(KeyStorageOptions.ApplicationName,
            factory.Services.GetRequiredService<IOptions<DataProtectionOptions>>().Value.ApplicationDiscriminator);
    }
}
