using MedSeg.Data;
using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;

namespace MedSeg.Web.Features.Account;

public static class AccountServiceExtensions
{
    private const string SmartScheme = "MedSeg";
    public const string AdminPolicy = "Admin";
    public const string CreatePolicy = "Create";

    /// <summary>Identity with cookie sign-in for the UI, bearer tokens for scripts and the hub; everything requires a user.</summary>
    public static WebApplicationBuilder AddMedSegAuth(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = SmartScheme;
                o.DefaultChallengeScheme = SmartScheme;
                o.DefaultSignInScheme = IdentityConstants.ApplicationScheme;
            })
            .AddPolicyScheme(SmartScheme, "Cookie or bearer token", o =>
                o.ForwardDefaultSelector = ctx => TokenAuthenticationHandler.ReadToken(ctx.Request) is { Length: > 0 }
                    ? TokenAuthenticationHandler.SchemeName
                    : IdentityConstants.ApplicationScheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(TokenAuthenticationHandler.SchemeName, null)
            .AddIdentityCookies();

        services.ConfigureApplicationCookie(o =>
        {
            o.LoginPath = "/account/login";
            o.AccessDeniedPath = "/account/denied";
            o.Cookie.Name = "medseg.auth";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.ExpireTimeSpan = TimeSpan.FromDays(14);
            o.SlidingExpiration = true;
            // APIs and the hub answer 401/403 instead of redirecting to the sign-in page.
            o.Events.OnRedirectToLogin = ctx => RedirectOrStatus(ctx, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = ctx => RedirectOrStatus(ctx, StatusCodes.Status403Forbidden);
            o.Events.OnValidatePrincipal = UserStatus.ValidateCookieAsync;
        });

        services.AddIdentityCore<ApplicationUser>(o =>
            {
                o.User.RequireUniqueEmail = true;
                o.Password.RequiredLength = 8;
                o.Password.RequireNonAlphanumeric = false;
                o.Lockout.MaxFailedAccessAttempts = 10;
            })
            .AddRoles<IdentityRole>()
            .AddClaimsPrincipalFactory<MedSegClaimsFactory>()
            .AddEntityFrameworkStores<MedSegDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(AdminPolicy, p => p.RequireRole(UserContext.AdminRole))
            // Upload, launch, predict: every signed-in user but a Viewer.
            .AddPolicy(CreatePolicy, p => p.RequireAuthenticatedUser().RequireAssertion(ctx => ctx.User.Identity?.IsAuthenticated == true && UserContext.From(ctx.User).CanCreate));

        services.AddCascadingAuthenticationState();
        services.AddScoped<AuthenticationStateProvider, RevalidatingIdentityAuthenticationStateProvider>();
        services.AddScoped<ApiTokenService>();
        services.AddScoped<SignInTiming>();
        services.AddScoped<AdminBootstrapper>();
        return builder;
    }

    private static Task RedirectOrStatus(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> ctx, int status)
    {
        // Scripts get a status; the API reference page is a page (a browser signs in and comes back), its document is an API.
        var path = ctx.Request.Path;
        if ((path.StartsWithSegments("/api") && !path.StartsWithSegments(Infrastructure.ApiReferenceExtensions.PageUrl))
            || path.StartsWithSegments("/hubs") || path.StartsWithSegments("/openapi"))
        {
            ctx.Response.StatusCode = status;
            return Task.CompletedTask;
        }
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }
}

/// <summary>Re-checks, every few seconds while a page's circuit is open, that the user is still active and their security
/// stamp unchanged: a disabled user's open page signs out within <see cref="RevalidationInterval"/>.</summary>
internal sealed class RevalidatingIdentityAuthenticationStateProvider(ILoggerFactory loggerFactory, IServiceScopeFactory scopes)
    : RevalidatingServerAuthenticationStateProvider(loggerFactory)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(5);

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState state, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var signIn = scope.ServiceProvider.GetRequiredService<SignInManager<ApplicationUser>>();
        return await signIn.ValidateSecurityStampAsync(state.User) is { } user && UserStatus.IsActive(user);
    }
}
