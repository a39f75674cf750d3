using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MedSeg.Web.Tests.Web;

/// <summary>Cookie-signed state changes under /api and /hubs must carry this server's Origin (or Referer); bearer and
/// anonymous requests are not affected.</summary>
[Collection(AppCollection.Name)]
public sealed class OriginCheckTests : IDisposable
{
    private const string OwnOrigin = "http://localhost"; // the test server's base address
    private readonly MedSegAppFactory factory = new(new() { ["MedSeg:Jobs:RunServer"] = "false" });

    public void Dispose() => factory.Dispose();

    private static HttpRequestMessage LaunchRequest(string? origin = null, string? referer = null)
    {
        // An unknown dataset: a request that passes the check gets the launch's own 400, never 403.
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/experiments")
        {
            Content = JsonContent.Create(new { datasetId = Guid.NewGuid(), model = "unext", epochs = 1 }),
        };
        if (origin is not null) request.Headers.Add("Origin", origin);
        if (referer is not null) request.Headers.Referrer = new Uri(referer);
        return request;
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, string mention)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Cross-site request refused", problem.GetProperty("title").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(mention, detail);
        Assert.Contains("bearer token", detail); // says what to do
    }

    [Fact]
    public async Task CookiePostWithoutOriginIsRefused()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        await AssertRefusedAsync(await client.SendAsync(LaunchRequest()), "neither an Origin nor a Referer");
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://localhost")]      // same host, other scheme
    [InlineData("http://localhost:8080")]  // same host, other port
    [InlineData("null")]                   // sandboxed frames and privacy-stripped requests
    public async Task CookiePostWithForeignOriginIsRefused(string origin)
    {
        var client = await CookieSignIn.ClientAsync(factory);
        await AssertRefusedAsync(await client.SendAsync(LaunchRequest(origin)), "is not this server");
    }

    [Fact]
    public async Task CookiePostWithForeignRefererAndNoOriginIsRefused()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        await AssertRefusedAsync(await client.SendAsync(LaunchRequest(referer: "https://evil.example/page")), "Referer");
    }

    [Fact]
    public async Task CookiePostWithTheRightOriginPassesThrough()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        var response = await client.SendAsync(LaunchRequest(OwnOrigin));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // the launch's own answer: no such dataset
        var withPort = await client.SendAsync(LaunchRequest("http://localhost:80"));
        Assert.Equal(HttpStatusCode.BadRequest, withPort.StatusCode);
    }

    [Fact]
    public async Task CookiePostWithTheRightRefererPassesThrough()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        var response = await client.SendAsync(LaunchRequest(referer: OwnOrigin + "/experiments/new"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task CookieUploadsAndCancelWithoutOriginAreRefused()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        var id = Guid.NewGuid();
        HttpRequestMessage Upload(string url, string? origin)
        {
            var form = new MultipartFormDataContent { { new StringContent("x"), "name" }, { new ByteArrayContent([1, 2, 3]), "file", "data.zip" } };
            var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = form };
            if (origin is not null) request.Headers.Add("Origin", origin);
            return request;
        }
        foreach (var url in new[] { "/api/datasets", $"/api/experiments/{id}/predictions" })
        {
            await AssertRefusedAsync(await client.SendAsync(Upload(url, null)), "neither an Origin nor a Referer");
            await AssertRefusedAsync(await client.SendAsync(Upload(url, "https://evil.example")), "is not this server");
            Assert.NotEqual(HttpStatusCode.Forbidden, (await client.SendAsync(Upload(url, OwnOrigin))).StatusCode);
        }
        foreach (var action in new[] { "cancel", "resume" })
        {
            await AssertRefusedAsync(await client.PostAsync($"/api/experiments/{id}/{action}", null), "neither an Origin nor a Referer");
            var own = new HttpRequestMessage(HttpMethod.Post, $"/api/experiments/{id}/{action}");
            own.Headers.Add("Origin", OwnOrigin);
            Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(own)).StatusCode);
        }
    }

    [Fact]
    public async Task CookieHubNegotiateWithForeignOriginIsRefused()
    {
        var client = await CookieSignIn.ClientAsync(factory);
        var foreign = new HttpRequestMessage(HttpMethod.Post, "/hubs/experiments/negotiate?negotiateVersion=1");
        foreign.Headers.Add("Origin", "https://evil.example");
        await AssertRefusedAsync(await client.SendAsync(foreign), "is not this server");
        var own = new HttpRequestMessage(HttpMethod.Post, "/hubs/experiments/negotiate?negotiateVersion=1");
        own.Headers.Add("Origin", OwnOrigin);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(own)).StatusCode);
    }

    [Fact]
    public async Task BearerPostWithoutOriginIsFine()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(LaunchRequest())).StatusCode);
        // A foreign Origin does not matter either: no browser attaches a bearer token by itself.
        Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(LaunchRequest("https://evil.example"))).StatusCode);
    }

    [Fact]
    public async Task AnonymousRequestsAndReadsAreNotAffected()
    {
        var anonymous = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(LaunchRequest("https://evil.example"))).StatusCode);
        var token = await anonymous.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);

        var cookie = await CookieSignIn.ClientAsync(factory);
        Assert.Equal(HttpStatusCode.OK, (await cookie.GetAsync("/api/experiments")).StatusCode); // GET needs no Origin
    }
}
