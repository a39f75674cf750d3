using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.Web;

/// <summary>Small body limits on every endpoint that is not an upload, and the sign-in rate limit.</summary>
[Collection(AppCollection.Name)]
public sealed class RequestLimitsTests(ITestOutputHelper output)
{
    private const long HundredMegabytes = 100L * 1024 * 1024;

    /// <summary>
    /// Posts a 100 MB JSON-looking body to <c>/api/tokens</c> over a raw socket, as a client that does not stop sending
    /// would: the body is generated while it is sent (never held), with a Content-Length or chunked, and the answer is read
    /// while sending. Returns the status line, the response head and how many body bytes were sent before the answer came.
    /// </summary>
    private static async Task<(string Status, string Head, long Sent)> PostHundredMegabytesAsync(Uri baseUri, bool declareLength)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(baseUri.Host, baseUri.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/tokens HTTP/1.1\r\nHost: {baseUri.Authority}\r\nContent-Type: application/json\r\n" +
                   (declareLength ? $"Content-Length: {HundredMegabytes}\r\n" : "Transfer-Encoding: chunked\r\n") + "\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));

        var answered = ReadHeadAsync(stream);
        long sent = 0;
        var sending = Task.Run(async () =>
        {
            // One JSON string that never ends: {"email":"aaaa…, so the server cannot refuse it as malformed before its body limit.
            var first = new byte[64 * 1024];
            Array.Fill(first, (byte)'a');
            "{\"email\":\""u8.CopyTo(first);
            var rest = new byte[64 * 1024];
            Array.Fill(rest, (byte)'a');
            var frame = System.Text.Encoding.ASCII.GetBytes($"{first.Length:X}\r\n");
            try
            {
                while (sent < HundredMegabytes && !answered.IsCompleted)
                {
                    var chunk = sent == 0 ? first : rest;
                    if (!declareLength) await stream.WriteAsync(frame);
                    await stream.WriteAsync(chunk);
                    if (!declareLength) await stream.WriteAsync("\r\n"u8.ToArray());
                    Interlocked.Add(ref sent, chunk.Length);
                }
            }
            catch (IOException)
            {
                // The server closed the connection after answering: what a client that keeps sending sees.
            }
        });
        var response = await answered.WaitAsync(TimeSpan.FromSeconds(30));
        var sentWhenAnswered = Interlocked.Read(ref sent);
        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        return (response.Split("\r\n")[0], response, sentWhenAnswered);
    }

    private static async Task<string> ReadHeadAsync(Stream stream)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length));
            if (n == 0) break;
            length += n;
            var text = System.Text.Encoding.ASCII.GetString(buffer, 0, length);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0 && (!text.Contains("Content-Length:", StringComparison.OrdinalIgnoreCase) || text.Length > end + 4 + 100)) return text;
        }
        return System.Text.Encoding.ASCII.GetString(buffer, 0, length);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HundredMegabyteBodyToTheTokenEndpointIs413QuicklyWithBoundedMemory(bool declareLength)
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;

        var clock = Stopwatch.StartNew();
        string status, head;
        long sent;
        using (var probe = MemoryProbe.Start())
        {
            (status, head, sent) = await PostHundredMegabytesAsync(baseUri, declareLength);
            // Buffering the body would take 100 MB at least; the server stops at its 1 MiB limit (or before reading).
            probe.AssertBelow(output, allocatedMiB: 32, workingSetMiB: 96);
        }
        output.WriteLine($"{status} after {clock.ElapsedMilliseconds} ms, {sent / (1024.0 * 1024):F1} MiB sent by then\n{head}");

        Assert.Equal("HTTP/1.1 413 Payload Too Large", status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Contains("application/problem+json", head);
        Assert.Contains("Connection: close", head, StringComparison.OrdinalIgnoreCase);
        Assert.True(sent < HundredMegabytes / 4, $"{sent} bytes were sent before the answer");
    }

    [Fact]
    public async Task NonUploadEndpointsRefuseBodiesOverTheSmallLimit()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Limits:RequestMaxBytes"] = "4096" });
        var client = await factory.CreateAuthenticatedClientAsync(); // a token request fits easily
        var big = new string('x', 8000);

        var json = new StringContent($"{{\"datasetId\":\"{Guid.NewGuid()}\",\"model\":\"{big}\"}}", System.Text.Encoding.UTF8, "application/json");
        var declared = await client.PostAsync("/api/experiments", json);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);
        Assert.Equal("application/problem+json", declared.Content.Headers.ContentType?.MediaType);

        // Without a declared length the limit applies while the body is read.
        var chunked = new NoLength(new StringContent($"{{\"model\":\"{big}\"}}"));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/experiments") { Content = chunked };
        var streamed = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);
        Assert.Equal("application/problem+json", streamed.Content.Headers.ContentType?.MediaType);

        var small = await client.PostAsJsonAsync("/api/experiments", new { datasetId = Guid.NewGuid(), model = "unext" });
        Assert.NotEqual(HttpStatusCode.RequestEntityTooLarge, small.StatusCode);
    }

    /// <summary>Wraps content so that its length is unknown (sent chunked).</summary>
    private sealed class NoLength(HttpContent inner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => inner.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task SignInAttemptsArePerAddressAndRateLimitedWith429AndRetryAfter()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Limits:SignInPermitsPerMinute"] = "3" });
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        var wrong = new { email = MedSegAppFactory.AdminEmail, password = "wrong-password" };

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/api/tokens", wrong)).StatusCode);
        }
        // Viewing the sign-in page is not an attempt; posting the form is, from the same budget as tokens.
        var page = await client.GetStringAsync("/account/login");
        var antiforgery = Regex.Match(page, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        FormUrlEncodedContent Form() => new(new Dictionary<string, string>
        {
            ["_handler"] = "login",
            ["__RequestVerificationToken"] = antiforgery,
            ["Input.Email"] = MedSegAppFactory.AdminEmail,
            ["Input.Password"] = "wrong-password",
        });
        var third = await client.PostAsync("/account/login", Form());
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Contains("The email or password is wrong.", await third.Content.ReadAsStringAsync());

        var refusedForm = await client.PostAsync("/account/login", Form());
        var refusedToken = await client.PostAsJsonAsync("/api/tokens", wrong);
        foreach (var refused in new[] { refusedForm, refusedToken })
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var retryAfter = refused.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Too many sign-in attempts", problem.GetProperty("title").GetString());
        }
        // Other requests are not limited.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/account/login")).StatusCode);
    }
}
