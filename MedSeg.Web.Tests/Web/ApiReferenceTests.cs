using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Infrastructure;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>The OpenAPI document lists every API route the app maps; the reference page is served with its scripts allowed by
/// a per-response nonce and loads nothing from another origin.</summary>
[Collection(AppCollection.Name)]
public sealed class ApiReferenceTests : IDisposable
{
    private readonly MedSegAppFactory factory = new(new() { ["MedSeg:Jobs:RunServer"] = "false" });

    public void Dispose() => factory.Dispose();

    /// <summary><c>/api/x/{id:guid}/{**path}</c> → <c>/api/x/{}/{}</c>, the same for a document path <c>/api/x/{id}/{path}</c>.</summary>
    private static string Normalize(string route) => Regex.Replace(route, "\\{[^}]*\\}", "{}").TrimEnd('/');

    [Fact]
    public async Task TheDocumentListsEveryMappedApiRoute()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.GetAsync(ApiReferenceExtensions.DocumentUrl);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {Normalize(p.Name)}"))
            .ToHashSet();

        var mapped = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && raw.StartsWith("/api/") && !raw.StartsWith(ApiReferenceExtensions.PageUrl))
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();

        Assert.True(mapped.Count > 40, $"only {mapped.Count} API routes found");
        var missing = mapped.Where(r => !documented.Contains(r)).Order().ToList();
        Assert.True(missing.Count == 0, "Routes missing from the OpenAPI document:\n" + string.Join("\n", missing));
        Assert.Equal("bearer", document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task TheDocumentAndThePageAreForSignedInUsersOnly()
    {
        var anonymous = factory.CreateClient(new() { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(ApiReferenceExtensions.DocumentUrl)).StatusCode);
        // The page is a page: a signed-out browser is sent to sign in, and comes back to it.
        var page = await anonymous.GetAsync(ApiReferenceExtensions.PageUrl + "/");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Contains("/account/login", page.Headers.Location!.OriginalString);
        var browser = await CookieSignIn.ClientAsync(factory);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(ApiReferenceExtensions.DocumentUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync(ApiReferenceExtensions.PageUrl + "/")).StatusCode);
    }

    [Fact]
    public async Task ThePageAllowsItsScriptsByNonceAndLoadsNothingFromElsewhere()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        // Scalar serves the page at the folder URL (its assets are relative to it).
        var bare = await client.GetAsync(ApiReferenceExtensions.PageUrl);
        Assert.True(bare.StatusCode is HttpStatusCode.OK or HttpStatusCode.Redirect or HttpStatusCode.MovedPermanently, $"{(int)bare.StatusCode}");
        var first = await client.GetAsync(ApiReferenceExtensions.PageUrl + "/");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var html = await first.Content.ReadAsStringAsync();
        var policy = first.Headers.GetValues("Content-Security-Policy").Single();
        var script = policy.Split(';').Select(d => d.Trim()).Single(d => d.StartsWith("script-src "));
        Assert.DoesNotContain("unsafe", script);
        var nonce = Regex.Match(script, "'nonce-([^']+)'").Groups[1].Value;
        Assert.NotEmpty(nonce);

        // Every script is this origin's, or inline with this response's nonce; no http(s) URL to another host anywhere.
        var scripts = Regex.Matches(html, "<script[^>]*>", RegexOptions.IgnoreCase).Select(m => m.Value).ToList();
        Assert.NotEmpty(scripts);
        foreach (var tag in scripts)
        {
            var src = Regex.Match(tag, "src=\"([^\"]+)\"").Groups[1].Value;
            Assert.True(src.Length == 0 ? tag.Contains($"nonce=\"{nonce}\"") : !src.Contains("//"), tag);
        }
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        foreach (var src in scripts.Select(t => Regex.Match(t, "src=\"([^\"]+)\"").Groups[1].Value).Where(s => s.Length > 0))
        {
            var asset = await client.GetAsync(new Uri(new Uri(factory.Server.BaseAddress, ApiReferenceExtensions.PageUrl + "/"), src));
            Assert.True(asset.StatusCode == HttpStatusCode.OK, $"{src}: {(int)asset.StatusCode}");
        }

        // A fresh nonce per response.
        var second = await client.GetAsync(ApiReferenceExtensions.PageUrl + "/");
        Assert.DoesNotContain(nonce, second.Headers.GetValues("Content-Security-Policy").Single());
        // Other pages have no nonce.
        Assert.DoesNotContain("nonce-", (await client.GetAsync("/datasets")).Headers.GetValues("Content-Security-Policy").Single());
    }
}
