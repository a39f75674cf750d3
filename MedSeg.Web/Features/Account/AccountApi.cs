using MedSeg.Data.Entities;
using MedSeg.Web.Features.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace MedSeg.Web.Features.Account;

/// <summary>Signed in: <c>{name, expiresInDays}</c> (both optional). Not signed in: <c>{email, password}</c> as well.</summary>
public sealed record TokenRequest(string? Email = null, string? Password = null, string? Name = null, int? ExpiresInDays = null);
public sealed record TokenResponse(string Token, Guid Id, string Name, DateTimeOffset? ExpiresAt);

public static class AccountApi
{
    public static IEndpointRouteBuilder MapAccountApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/tokens", CreateToken).AllowAnonymous().RequireRateLimiting(RequestLimits.SignInPolicy).WithTags("Account");
        app.MapGet("/api/tokens", ListTokens).WithTags("Account");
        app.MapDelete("/api/tokens/{id:guid}", RevokeToken).WithTags("Account");
        app.MapPost("/account/logout", Logout).WithTags("Account");
        return app;
    }

    /// <summary>A new personal token: for the signed-in caller (cookie or token), or for the email and password sent.</summary>
    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> CreateToken(
        TokenRequest request, HttpContext http, UserManager<ApplicationUser> users, ApiTokenService tokens, AuditLog audit, SignInTiming timing, CancellationToken ct)
    {
        if (ApiTokenService.Check(request.Name, request.ExpiresInDays) is { } bad)
        {
            return TypedResults.Problem(bad, statusCode: 400, title: "Invalid token request");
        }
        ApplicationUser? user;
        if (http.User.Identity?.IsAuthenticated == true && string.IsNullOrWhiteSpace(request.Email))
        {
            user = await users.GetUserAsync(http.User);
            if (user is null) return TypedResults.Problem("The signed-in user no longer exists.", statusCode: 401, title: "Sign-in failed");
        }
        else
        {
            if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrEmpty(request.Password))
            {
                return TypedResults.Problem("Send {\"email\": ..., \"password\": ...}.", statusCode: 400, title: "Email and password are required");
            }
            user = await users.FindByEmailAsync(request.Email);
            if (user is null) timing.VerifyForUnknownUser(request.Password); // as slow as a wrong password: no hint the email is unknown
            if (user is null || await users.IsLockedOutAsync(user) || !await users.CheckPasswordAsync(user, request.Password))
            {
                if (user is not null) await users.AccessFailedAsync(user);
                await audit.WriteAsync(user?.Id, request.Email, new AuditRecord(AuditActions.SignInFailure, "token", Detail: "POST /api/tokens", Succeeded: false), ct);
                return TypedResults.Problem("The email or password is wrong.", statusCode: 401, title: "Sign-in failed");
            }
            if (UserStatus.Refusal(user) is { } refusal)
            {
                await audit.WriteAsync(user.Id, request.Email, new AuditRecord(AuditActions.SignInFailure, "token", Detail: "disabled account", Succeeded: false), ct);
                return TypedResults.Problem(refusal, statusCode: 401, title: "Sign-in failed");
            }
            await users.ResetAccessFailedCountAsync(user);
            await audit.WriteAsync(user.Id, user.Email ?? "", new AuditRecord(AuditActions.SignInSuccess, "token", Detail: "POST /api/tokens"), ct);
        }
        var created = await tokens.CreateTokenAsync(new UserContext(user.Id, false, Name: user.Email ?? ""), request.Name, request.ExpiresInDays, ct);
        return TypedResults.Ok(new TokenResponse(created.Token, created.Info.Id, created.Info.Name, created.Info.ExpiresAt));
    }

    public static async Task<Ok<IReadOnlyList<TokenView>>> ListTokens(HttpContext http, ApiTokenService tokens, CancellationToken ct) =>
        TypedResults.Ok(await tokens.ListAsync(UserContext.From(http.User).UserId, ct));

    public static async Task<Results<NoContent, NotFound>> RevokeToken(Guid id, HttpContext http, ApiTokenService tokens, CancellationToken ct) =>
        await tokens.RevokeAsync(UserContext.From(http.User), id, ct) is null ? TypedResults.NotFound() : TypedResults.NoContent();

    public static async Task<RedirectHttpResult> Logout(SignInManager<ApplicationUser> signIn, [FromForm] string? returnUrl)
    {
        await signIn.SignOutAsync();
        return TypedResults.LocalRedirect("/account/login");
    }
}
