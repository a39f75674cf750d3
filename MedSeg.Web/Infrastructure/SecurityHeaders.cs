using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Components;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// Security headers on every response (pages, APIs, static files, error pages): a Content-Security-Policy, nosniff, no
/// framing and a same-origin referrer policy. Set when the response starts, so responses that the exception handler or the
/// status-code pages rewrote (which clear the headers) get them too.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>
    /// The app's policy. Scripts only from this origin, plus the one inline script Blazor renders, the
    /// <c>&lt;ImportMap /&gt;</c>, allowed by its SHA-256 (added per response, <see cref="ImportMapHash"/>). Styles need
    /// <c>'unsafe-inline'</c>: MudBlazor writes <c>style</c> attributes on most components and its theme provider renders a
    /// <c>&lt;style&gt;</c> block, and Blazor's reconnect dialog injects styles; style injection cannot run script.
    /// Images: the app's own URLs, plus <c>data:</c> for small inlined images in MudBlazor's and Hangfire's CSS (no
    /// <c>blob:</c> URL is made anywhere: thumbnails, previews and masks are served by the API).
    /// <c>connect-src 'self'</c> covers the circuit's WebSocket to this host (CSP 3 matches ws/wss to 'self').
    /// </summary>
    public const string AppPolicy =
        "default-src 'self'; script-src 'self'{0}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    private static readonly ConditionalWeakTable<ImportMapDefinition, string> Hashes = [];

    public static WebApplication UseMedSegSecurityHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                Apply((HttpContext)state);
                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        return app;
    }

    internal static void Apply(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = PolicyFor(context);
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        // same-origin, not no-referrer: under no-referrer browsers send "Origin: null" on same-origin POSTs, which the
        // origin check (OriginCheck) would then refuse; other sites still get no referrer at all.
        headers["Referrer-Policy"] = "same-origin";
    }

    /// <summary>The app's policy for this response. The Hangfire dashboard (<c>/jobs</c>) needs nothing more: its pages load
    /// their scripts from /jobs (no inline script) and use inline styles, which the policy allows anyway.</summary>
    internal static string PolicyFor(HttpContext context)
    {
        var importMap = context.GetEndpoint()?.Metadata.GetMetadata<ImportMapDefinition>();
        var extra = importMap is null ? "" : " '" + ImportMapHash(importMap) + "'";
        if (context.Items.TryGetValue(NonceKey, out var nonce)) extra += " 'nonce-" + nonce + "'";
        return string.Format(System.Globalization.CultureInfo.InvariantCulture, AppPolicy, extra);
    }

    private static readonly object NonceKey = new();

    /// <summary>A fresh, unpredictable nonce for this response's inline scripts (the API reference page renders its
    /// configuration as one), added to this response's <c>script-src</c>; the same value for every call on one request.</summary>
    public static string ScriptNonce(HttpContext context)
    {
        if (context.Items.TryGetValue(NonceKey, out var existing)) return (string)existing!;
        // Hex, not base64: a '+' or '/' would be HTML-encoded in the page's nonce attribute (&#x2B;), which browsers decode
        // but which no longer reads as the header's value anywhere else (a test found it in about a third of responses).
        var nonce = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        context.Items[NonceKey] = nonce;
        return nonce;
    }

    /// <summary>The CSP source for the import map script exactly as <c>&lt;ImportMap /&gt;</c> renders it (its JSON as the
    /// script's text). One definition per endpoint for the app's lifetime, so the hash is computed once.</summary>
    public static string ImportMapHash(ImportMapDefinition map) =>
        Hashes.GetValue(map, static m => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.ToString()))));
}
