using MedSeg.Web.Features.Account;
using Microsoft.Net.Http.Headers;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// Cross-site request forgery guard for the APIs and the hub: a state-changing request (POST, PUT, PATCH, DELETE) under
/// <c>/api</c> or <c>/hubs</c> that is signed in by the auth cookie must come from one of the app's own pages, i.e. carry an
/// <c>Origin</c> (or, without one, a <c>Referer</c>) whose scheme, host and port are the request's own (after forwarded
/// headers). Browsers send <c>Origin</c> on every POST, so the app's own XHR uploads pass; another site's form or script
/// cannot forge it. Bearer-token requests (scripts) and anonymous ones are not affected: a browser never adds a bearer token
/// by itself. (The auth cookie is also SameSite=Strict; this check does not depend on every browser honouring that.)
/// Runs after authentication, before authorization and the endpoints, so nothing is read or changed when it refuses.
/// </summary>
public static class OriginCheck
{
    public static WebApplication UseMedSegOriginCheck(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (Refusal(context) is { } problem)
            {
                await TypedResults.Problem(problem, statusCode: StatusCodes.Status403Forbidden,
                    title: "Cross-site request refused").ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        return app;
    }

    /// <summary>Why this request is refused, or null when it may go on.</summary>
    internal static string? Refusal(HttpContext context)
    {
        var request = context.Request;
        if (!IsStateChanging(request.Method)) return null;
        if (!request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/hubs")) return null;
        if (TokenAuthenticationHandler.ReadToken(request) is { Length: > 0 }) return null;
        if (context.User.Identity?.IsAuthenticated != true) return null;

        var claimed = request.Headers.Origin.ToString();
        var from = "Origin";
        if (string.IsNullOrEmpty(claimed))
        {
            claimed = request.Headers[HeaderNames.Referer].ToString();
            from = "Referer";
        }
        var own = $"{request.Scheme}://{request.Host}";
        if (string.IsNullOrEmpty(claimed))
        {
            return $"This request is signed in with the browser's cookie but carries neither an Origin nor a Referer header, so it " +
                   $"cannot be told apart from a forged cross-site request. Send it from a page of {own}, or call the API with a " +
                   "bearer token (POST /api/tokens) instead of the cookie.";
        }
        if (SameOrigin(claimed, request)) return null;
        return $"This request is signed in with the browser's cookie but its {from} ({Shorten(claimed)}) is not this server ({own}), " +
               "so it is refused as a possible cross-site request. Send it from a page of this server, or use a bearer token " +
               "(POST /api/tokens) for scripts and other sites. Behind a reverse proxy, the proxy must forward the original host and " +
               "scheme (MedSeg:ForwardedHeaders).";
    }

    private static bool IsStateChanging(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);

    /// <summary>Scheme, host and port (default ports filled in) of <paramref name="claimed"/> equal the request's own.</summary>
    internal static bool SameOrigin(string claimed, HttpRequest request)
    {
        if (!Uri.TryCreate(claimed, UriKind.Absolute, out var origin) || origin.Scheme is not ("http" or "https")) return false;
        if (!Uri.TryCreate($"{request.Scheme}://{request.Host.Value}/", UriKind.Absolute, out var own)) return false;
        return string.Equals(origin.Scheme, own.Scheme, StringComparison.OrdinalIgnoreCase)
            && string.Equals(origin.IdnHost, own.IdnHost, StringComparison.OrdinalIgnoreCase)
            && origin.Port == own.Port;
    }

    private static string Shorten(string value) => value.Length <= 100 ? value : value[..100] + "…";
}
