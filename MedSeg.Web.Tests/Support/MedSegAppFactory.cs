using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MedSeg.Web.Tests.Support;

/// <summary>The real app on a fresh data folder (SQLite + Hangfire SQLite), with an admin created from configuration.</summary>
public sealed class MedSegAppFactory : WebApplicationFactory<Program>
{
    public const string AdminEmail = "admin@medseg.test";
    public const string AdminPassword = "Admin-Pass-1";

    private readonly TempDirectory data = new("medseg-app");
    private readonly Dictionary<string, string?> settings;

    public MedSegAppFactory(Dictionary<string, string?>? extra = null, string? dataRoot = null)
    {
        DataRoot = dataRoot ?? data.Path;
        settings = new Dictionary<string, string?>
        {
            ["MedSeg:DataRoot"] = DataRoot,
            ["MedSeg:Admin:Email"] = AdminEmail,
            ["MedSeg:Admin:Password"] = AdminPassword,
            ["MedSeg:Training:Device"] = "cpu",
            ["MedSeg:Training:Threads"] = "2",
            // Tests sign in far more often than a person from one address (loopback); RequestLimitsTests checks the limit itself.
            ["MedSeg:Limits:SignInPermitsPerMinute"] = "100000",
        };
        foreach (var (k, v) in extra ?? []) settings[k] = v;
    }

    public string DataRoot { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (k, v) in settings) builder.UseSetting(k, v);
    }

    /// <summary>An HTTP client authenticated with a bearer token of the given user (default: the admin).</summary>
    public async Task<HttpClient> CreateAuthenticatedClientAsync(string email = AdminEmail, string password = AdminPassword)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var response = await client.PostAsJsonAsync("/api/tokens", new { email, password });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<TokenBody>())!.Token;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private sealed record TokenBody(string Token);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) data.Dispose();
    }
}
