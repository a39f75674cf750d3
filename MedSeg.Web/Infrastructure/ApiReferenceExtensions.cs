using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// The API reference: an OpenAPI document of every API endpoint at <see cref="DocumentUrl"/> and an interactive page over it
/// (Scalar) at <see cref="PageUrl"/>, both for signed-in users only (the sign-in cookie or an API token, like the APIs).
/// The page works under the app's Content-Security-Policy: its scripts are served by the app (Scalar's bundled assets, under
/// <see cref="PageUrl"/>), its inline scripts carry a fresh nonce per response (<see cref="SecurityHeaders.ScriptNonce"/>),
/// and it loads no fonts from Scalar's CDN.
/// </summary>
public static class ApiReferenceExtensions
{
    public const string DocumentName = "v1";
    public const string DocumentUrl = "/openapi/v1.json";
    public const string PageUrl = "/api/reference";

    public static IServiceCollection AddMedSegApiReference(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "MedSeg API",
                    Version = DocumentName,
                    Description = "Datasets, experiments, predictions and accounts. Sign in with the browser (cookie) or send " +
                                  "`Authorization: Bearer <token>` with an API token from /account/tokens (or POST /api/tokens).",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API token (POST /api/tokens, or the account's tokens page).",
                };
                document.Security ??= [];
                document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] });
                return Task.CompletedTask;
            });
        });

    public static IEndpointRouteBuilder MapMedSegApiReference(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization();
        app.MapScalarApiReference(PageUrl, (options, http) => options
                .WithTitle("MedSeg API reference")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                .AddDocument(DocumentName)
                .ExpandAllTags()
                // Nothing leaves the server: no CDN fonts, no telemetry, no hosted AI agent.
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()
                .WithNonce(SecurityHeaders.ScriptNonce(http)))
            .RequireAuthorization();
        return app;
    }
}
