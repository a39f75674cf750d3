using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// What the app needs to sit on the internet, behind a TLS reverse proxy or not: forwarded headers from trusted proxies
/// (<see cref="ReverseProxyOptions"/>), HSTS outside Development, an optional HTTPS redirect (<see cref="HttpsOptions"/>),
/// Secure cookies on HTTPS requests, and a data-protection key ring in the data folder (<see cref="KeyStorageOptions"/>) so
/// that cookies and hub tickets survive a restart and nodes sharing the folder accept each other's.
/// </summary>
public static class WebSurface
{
    public static WebApplicationBuilder AddMedSegWebSurface(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var proxy = ReverseProxyOptions.Read(builder.Configuration);
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(proxy));
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
            o.ForwardLimit = proxy.ForwardLimit;
            // Loopback stays trusted (ASP.NET Core's default): a proxy on the same machine needs no configuration.
            foreach (var address in proxy.Proxies) o.KnownProxies.Add(address);
            foreach (var network in proxy.Networks) o.KnownIPNetworks.Add(network);
        });

        var https = builder.Configuration.Get<HttpsOptions>(HttpsOptions.Section);
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(https));
        if (https.Redirect) services.AddHttpsRedirection(o => o.HttpsPort = https.Port > 0 ? https.Port : null);

        // The auth cookie and the antiforgery cookie are Secure whenever the request came over HTTPS (directly, or as the
        // proxy's X-Forwarded-Proto says), and still work on a plain-HTTP development server.
        services.ConfigureAll<CookieAuthenticationOptions>(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);
        services.AddAntiforgery(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);

        var dataRoot = builder.Configuration.Get<MedSegOptions>(MedSegOptions.Section).ResolvedDataRoot;
        var keys = builder.Configuration.Get<KeyStorageOptions>(KeyStorageOptions.Section).ResolvedKeysPath(dataRoot);
        Directory.CreateDirectory(keys);
        // A fixed application name, not the content root path (ASP.NET Core's default discriminator): nodes installed in
        // different folders but sharing the key folder protect and unprotect for each other.
        var protection = services.AddDataProtection().SetApplicationName(KeyStorageOptions.ApplicationName);
        var redis = builder.Configuration.Get<RedisOptions>(RedisOptions.Section);
        if (redis.Enabled)
        {
            // Every node reads the one key ring in Redis (the same Redis as the backplane), whatever its disks.
            services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(sp => new ConfigureOptions<KeyManagementOptions>(o =>
                o.XmlRepository = new Microsoft.AspNetCore.DataProtection.StackExchangeRedis.RedisXmlRepository(
                    () => sp.GetRequiredService<RedisConnection>().Multiplexer.GetDatabase(), KeyStorageOptions.RedisKey)));
        }
        else
        {
            protection.PersistKeysToFileSystem(new DirectoryInfo(keys));
        }
        return builder;
    }

    /// <summary>First in the pipeline: everything after it (the rate limiter's client address, the scheme of cookies and
    /// HSTS, the origin check) sees the client's request as the proxy received it.</summary>
    public static WebApplication UseMedSegForwardedHeaders(this WebApplication app)
    {
        var proxy = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ReverseProxyOptions>>().Value;
        if (proxy.Enabled) app.UseForwardedHeaders();
        return app;
    }

    /// <summary>HSTS outside Development (browsers ignore it on plain HTTP, and it excludes localhost); the redirect when asked.</summary>
    public static WebApplication UseMedSegHttps(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment()) app.UseHsts();
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HttpsOptions>>().Value.Redirect) app.UseHttpsRedirection();
        return app;
    }
}
