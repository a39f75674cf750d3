using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MedSeg.Web.Tests.Support;

/// <summary>A user created through the admin API, with a bearer client of their own.</summary>
public sealed record TestUser(string Id, string Email, string Password, HttpClient Client);

/// <summary>Creates users through <c>POST /api/users</c> as the factory's admin, and signs them in with tokens.</summary>
public static class Accounts
{
    public const string Password = "Member-Pass-1";

    public static async Task<TestUser> CreateAsync(MedSegAppFactory factory, HttpClient admin, string role, string? email = null, string? displayName = null)
    {
        email ??= $"{role.ToLowerInvariant()}-{Guid.NewGuid():N}@medseg.test"[..40] + ".test";
        var response = await admin.PostAsJsonAsync("/api/users", new { email, displayName = displayName ?? email.Split('@')[0], role, password = Password });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("id").GetString()!;
        return new TestUser(id, email, Password, await factory.CreateAuthenticatedClientAsync(email, Password));
    }

    /// <summary>A client with a bearer token for the email and password, or null when the token is refused.</summary>
    public static async Task<HttpClient?> TryTokenClientAsync(MedSegAppFactory factory, string email, string password)
    {
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var response = await client.PostAsJsonAsync("/api/tokens", new { email, password });
        if (!response.IsSuccessStatusCode) return null;
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
