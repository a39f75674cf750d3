using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MedSeg.Web.Tests.Support;

/// <summary>Signs in through the sign-in form, as a browser does, and hands out the auth cookie (or a client that sends it).</summary>
public static class CookieSignIn
{
    public const string AuthCookie = "medseg.auth";

    /// <summary>A client that sends the auth cookie of <paramref name="email"/> on every request.</summary>
    public static async Task<HttpClient> ClientAsync(MedSegAppFactory factory, string email = MedSegAppFactory.AdminEmail,
        string password = MedSegAppFactory.AdminPassword)
    {
        var cookie = (await SignInAsync(factory, email, password)).Cookie;
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        return client;
    }

    /// <summary>Posts the sign-in form; returns the auth cookie (<c>name=value</c>) and its whole Set-Cookie header.</summary>
    public static async Task<(string Cookie, string SetCookie)> SignInAsync(MedSegAppFactory factory, string email = MedSegAppFactory.AdminEmail,
        string password = MedSegAppFactory.AdminPassword, IReadOnlyDictionary<string, string>? headers = null)
    {
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) client.DefaultRequestHeaders.Add(k, v);
        return await SignInAsync(client, email, password);
    }

    /// <summary>Posts the sign-in form with <paramref name="client"/> (no redirects, no cookie container: e.g. a server process's).</summary>
    public static async Task<(string Cookie, string SetCookie)> SignInAsync(HttpClient client, string email = MedSegAppFactory.AdminEmail,
        string password = MedSegAppFactory.AdminPassword)
    {
        var page = await client.GetAsync("/account/login");
        var antiforgeryCookies = SetCookies(page).Select(c => c.Split(';')[0]).ToList();
        var antiforgery = Regex.Match(await page.Content.ReadAsStringAsync(), "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var post = new HttpRequestMessage(HttpMethod.Post, "/account/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["_handler"] = "login",
                ["__RequestVerificationToken"] = antiforgery,
                ["Input.Email"] = email,
                ["Input.Password"] = password,
            }),
        };
        post.Headers.Add("Cookie", string.Join("; ", antiforgeryCookies));
        var response = await client.SendAsync(post);
        var setCookie = SetCookies(response).FirstOrDefault(c => c.StartsWith(AuthCookie + "=", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Sign-in as {email} answered {(int)response.StatusCode} without an auth cookie: " +
                                                   await response.Content.ReadAsStringAsync());
        return (setCookie.Split(';')[0], setCookie);
    }

    private static IEnumerable<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];
}
