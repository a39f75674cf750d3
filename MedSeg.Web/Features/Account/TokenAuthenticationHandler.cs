using System.Text.Encodings.Web;
using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Account;

/// <summary>Authenticates <c>Authorization: Bearer …</c> (and <c>?access_token=</c> on the hub, as SignalR sends it).</summary>
public sealed class TokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiTokenService tokens, UserManager<ApplicationUser> users, IUserClaimsPrincipalFactory<ApplicationUser> principals)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Bearer";

    public static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return header["Bearer ".Length..].Trim();
        if (request.Path.StartsWithSegments("/hubs") && request.Query.TryGetValue("access_token", out var q)) return q.ToString();
        return null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var value = ReadToken(Request);
        if (string.IsNullOrEmpty(value)) return AuthenticateResult.NoResult();
        var userId = await tokens.ValidateAsync(value, Context.RequestAborted);
        if (userId is null) return AuthenticateResult.Fail("The bearer token is not valid.");
        var user = await users.FindByIdAsync(userId);
        if (user is null) return AuthenticateResult.Fail("The token's user no longer exists.");
        if (!UserStatus.IsActive(user)) return AuthenticateResult.Fail("The token's user is disabled or locked out.");
        var principal = await principals.CreateAsync(user);
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }
}
