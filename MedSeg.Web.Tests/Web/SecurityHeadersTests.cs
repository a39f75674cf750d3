using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MedSeg.Web.Tests.Web;

/// <summary>Every response carries the CSP and the other security headers; the import map is allowed by its hash.</summary>
[Collection(AppCollection.Name)]
public sealed class SecurityHeadersTests : IDisposable
{
    private readonly MedSegAppFactory factory = new(new() { ["MedSeg:Jobs:RunServer"] = "false" });

    public void Dispose() => factory.Dispose();

    private static IReadOnlyDictionary<string, string> Directives(HttpResponseMessage response)
    {
        Assert.True(response.Headers.TryGetValues("Content-Security-Policy", out var values), $"{response.RequestMessage?.RequestUri}: no CSP");
        return values.Single().Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToDictionary(d => d.Split(' ')[0], d => d.Contains(' ') ? d[(d.IndexOf(' ') + 1)..] : "");
    }

    private static void AssertCommonHeaders(HttpResponseMessage response)
    {
        var csp = Directives(response);
        Assert.Equal("'self'", csp["default-src"]);
        Assert.Equal("'none'", csp["frame-ancestors"]);
        Assert.Equal("'none'", csp["object-src"]);
        Assert.Equal("'self'", csp["base-uri"]);
        Assert.Equal("'self'", csp["form-action"]);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("same-origin", response.Headers.GetValues("Referrer-Policy").Single());
    }

    [Fact]
    public async Task PagesCarryTheCspWithTheImportMapHashAndNoUnsafeScript()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        foreach (var path in new[] { "/", "/datasets", "/account/login" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            AssertCommonHeaders(response);
            var script = Directives(response)["script-src"];
            Assert.DoesNotContain("unsafe-inline", script);
            Assert.DoesNotContain("unsafe-eval", script);

            // The only inline script is the import map; its hash (as the browser computes it over the text) is allowed.
            var html = await response.Content.ReadAsStringAsync();
            var inline = Regex.Matches(html, "<script(?![^>]*\\ssrc=)[^>]*>(.*?)</script>", RegexOptions.Singleline);
            Assert.NotEmpty(inline);
            foreach (Match m in inline)
            {
                Assert.Contains("type=\"importmap\"", m.Value);
                var hash = "'sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value))) + "'";
                Assert.Contains(hash, script);
            }
        }
    }

    [Fact]
    public async Task ApiStaticAndErrorResponsesCarryTheHeaders()
    {
        var anonymous = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var unauthorized = await anonymous.GetAsync("/api/experiments");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        AssertCommonHeaders(unauthorized);
        var css = await anonymous.GetAsync("/app.css");
        Assert.Equal(HttpStatusCode.OK, css.StatusCode);
        AssertCommonHeaders(css);

        var client = await CookieSignIn.ClientAsync(factory);
        var missing = await client.GetAsync("/no-such-page");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        AssertCommonHeaders(missing);
        var missingApi = await client.GetAsync($"/api/experiments/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, missingApi.StatusCode);
        AssertCommonHeaders(missingApi);
    }

    [Fact]
    public async Task JobsDashboardRendersUnderTheSamePolicy()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        var response = await client.GetAsync("/jobs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("MedSeg jobs", html);
        AssertCommonHeaders(response);
        // The same strict script policy: its scripts and styles come from /jobs on this origin (E2E checks the browser agrees).
        Assert.Equal("'self'", Directives(response)["script-src"]);
        var js = Regex.Match(await response.Content.ReadAsStringAsync(), "<script src=\"([^\"]+)\"").Groups[1].Value;
        Assert.StartsWith("/jobs/", js);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(js)).StatusCode);
    }
}
