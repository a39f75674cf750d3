using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Diagnostics;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// What a request that hit an unexpected exception gets: problem details for the APIs and the hub, a small page for the
/// UI, both with the trace id to find the logged exception and never its message (it may name server paths). Written
/// directly, not by re-executing a route: the error may be in rendering itself (the load test found one in a chip).
/// </summary>
public static class ErrorHandling
{
    public static WebApplication UseMedSegErrorHandling(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = WriteAsync });
        return app;
    }

    public static async Task WriteAsync(HttpContext context)
    {
        var trace = Activity.Current?.Id ?? context.TraceIdentifier;
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        var path = context.Features.Get<IExceptionHandlerPathFeature>()?.Path ?? context.Request.Path.Value ?? "";
        // A request the server could not read (malformed JSON, a body over its limit): the client's error, said as such. Minimal
        // APIs throw this in Development and answer a bare 400 elsewhere; both get this body.
        if ((context.Features.Get<IExceptionHandlerPathFeature>()?.Error ?? context.Features.Get<IExceptionHandlerFeature>()?.Error) is BadHttpRequestException bad)
        {
            await Results.Problem(title: bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Bad request",
                detail: bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? "The request body is larger than this endpoint accepts (MedSeg:Limits)."
                    : "The request could not be read: send valid JSON (or the form) this endpoint documents.",
                statusCode: bad.StatusCode).ExecuteAsync(context);
            return;
        }
        if (path.StartsWith("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWith("/hubs", StringComparison.OrdinalIgnoreCase))
        {
            await Results.Problem(title: "Internal server error",
                detail: $"The server hit an unexpected error and logged it with trace id {trace}. Try again; if it persists, give the id to an administrator.",
                statusCode: StatusCodes.Status500InternalServerError,
                extensions: new Dictionary<string, object?> { ["traceId"] = trace }).ExecuteAsync(context);
            return;
        }
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Error · MedSeg</title></head>
            <body style="font-family: sans-serif; margin: 3rem">
            <h1>Something went wrong</h1>
            <p>The server hit an unexpected error and logged it with trace id <code>{WebUtility.HtmlEncode(trace)}</code>.</p>
            <p><a href="/">Go to the start page</a> and try again; if it happens again, give the id to an administrator.</p>
            </body></html>
            """);
    }
}
