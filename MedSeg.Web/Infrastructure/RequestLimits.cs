using System.Globalization;
using System.Threading.RateLimiting;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Shared;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// Request body limits and the sign-in rate limit (<see cref="LimitsOptions"/>). Every body is small by default
/// (<see cref="LimitsOptions.RequestMaxBytes"/>: Kestrel's global limit); only endpoints marked
/// <see cref="WithUploadLimit"/> accept <see cref="LimitsOptions.UploadMaxBytes"/>. A declared Content-Length over the limit
/// is answered 413 before a byte is read; a body without one stops at the limit while it is read.
/// </summary>
public static class RequestLimits
{
    /// <summary>Sign-in form posts and <c>POST /api/tokens</c>, per client IP address (one budget for both).</summary>
    public const string SignInPolicy = "sign-in";

    public static WebApplicationBuilder AddMedSegLimits(this WebApplicationBuilder builder)
    {
        var limits = LimitsOptions.Read(builder.Configuration);
        builder.Services.AddSingleton(Options.Create(limits));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = limits.RequestMaxBytes);
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            // Only attempts count: viewing the sign-in page (GET) is free. Behind a reverse proxy every client has the proxy's
            // address unless forwarded headers are configured.
            o.AddPolicy(SignInPolicy, http => HttpMethods.IsPost(http.Request.Method)
                ? RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "(unknown)", _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limits.SignInPermitsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                })
                : RateLimitPartition.GetNoLimiter("(not an attempt)"));
            o.OnRejected = async (context, _) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry) ? Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)) : 60;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await TypedResults.Problem(
                    $"More than {limits.SignInPermitsPerMinute} sign-in attempts a minute came from this address; try again in {seconds} s.",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Too many sign-in attempts").ExecuteAsync(context.HttpContext);
            };
        });
        return builder;
    }

    /// <summary>Lets this endpoint's body be as large as <see cref="LimitsOptions.UploadMaxBytes"/> (routing applies it to Kestrel).</summary>
    public static RouteHandlerBuilder WithUploadLimit(this RouteHandlerBuilder endpoint, IEndpointRouteBuilder app) =>
        endpoint.WithMetadata(new RequestSizeLimitAttribute(app.ServiceProvider.GetRequiredService<IOptions<LimitsOptions>>().Value.UploadMaxBytes));

    /// <summary>Lets this endpoint's body be as large as <paramref name="maxBytes"/>, answering a larger one with
    /// <paramref name="refusal"/> (a sentence naming the setting that raises it).</summary>
    public static RouteHandlerBuilder WithBodyLimit(this RouteHandlerBuilder endpoint, long maxBytes, string refusal) =>
        endpoint.WithMetadata(new BodyLimit(maxBytes, refusal));

    /// <summary>An endpoint's own body limit and the sentence that refuses a larger body.</summary>
    public sealed record BodyLimit(long? MaxRequestBodySize, string Refusal) : IRequestSizeLimitMetadata;

    public static WebApplication UseMedSegLimits(this WebApplication app)
    {
        app.UseMiddleware<RequestBodyLimitMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    internal static string UploadTooLarge(LimitsOptions limits) =>
        $"the upload is larger than the {Format.Bytes(limits.UploadMaxBytes)} the server accepts (MedSeg:Limits:UploadMaxBytes); " +
        "split the dataset into several archives, or ask the administrator to raise the limit.";

    /// <summary>Applies the endpoint's body limit (its <see cref="IRequestSizeLimitMetadata"/>, else the small default) on every host.</summary>
    private sealed class RequestBodyLimitMiddleware(RequestDelegate next, IOptions<LimitsOptions> options)
    {
        public async Task InvokeAsync(HttpContext context)
        {
            var limits = options.Value;
            var metadata = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>();
            var limit = metadata is null ? limits.RequestMaxBytes : metadata.MaxRequestBodySize;
            if (limit is not { } max)
            {
                await next(context);
                return;
            }
            var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = max;
            if (context.Request.ContentLength > max)
            {
                // Refused from the declared length alone: nothing is read, and the connection is not kept for the rest.
                context.Response.Headers.Connection = "close";
                await TooLarge(context, max, upload: metadata is not null, limits);
                return;
            }
            // Hosts without the feature (the test server) get the same limit from a counting stream.
            if (feature is null) context.Request.Body = new LimitedStream(context.Request.Body, max);
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
            {
                context.Response.Headers.Connection = "close";
                await TooLarge(context, max, upload: metadata is not null, limits);
                return;
            }
            // Minimal APIs answer a body that failed to bind with the bare status code: give it the problem details.
            if (context.Response.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
            {
                context.Response.Headers.Connection = "close";
                await TooLarge(context, max, upload: metadata is not null, limits);
            }
        }

        private static Task TooLarge(HttpContext context, long max, bool upload, LimitsOptions limits)
        {
            var problem = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>() is BodyLimit own
                ? own.Refusal
                : upload
                ? UploadTooLarge(limits)
                : $"this endpoint accepts a body of at most {Format.Bytes(max)} (MedSeg:Limits:RequestMaxBytes); uploads go to the upload endpoints.";
            return TypedResults.Problem(new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = upload ? "The upload was refused: it is too large; nothing was stored." : "The request body is too large",
                Detail = problem,
                Extensions = { ["errors"] = new[] { new DatasetProblem(upload ? "(upload)" : "(request body)", problem) } },
            }).ExecuteAsync(context);
        }
    }

    /// <summary>A request body that throws Kestrel's 413 <see cref="BadHttpRequestException"/> once more than the limit is read.</summary>
    private sealed class LimitedStream(Stream inner, long max) : Stream
    {
        private long read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Count(await inner.ReadAsync(buffer, ct));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private int Count(int n)
        {
            read += n;
            if (read > max) throw new BadHttpRequestException($"Request body too large. The max request body size is {max} bytes.", StatusCodes.Status413PayloadTooLarge);
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
