using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Mvc;

namespace MedSeg.Web.Features.Account;

public sealed record TokenRequest(string? Email, string? Password);
public sealed record TokenResponse(string Token);

public static class AccountApi
{
    public static IEndpointRouteBuilder MapAccountApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/tokens", CreateToken).AllowAnonymous().RequireRateLimiting(RequestLimits.SignInPolicy).WithTags("Account");
        app.MapPost("/account/logout", Logout).WithTags("Account");
        return app;
    }

    public static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> CreateToken(
        TokenRequest request, UserManager<ApplicationUser> users, ApiTokenService tokens, SignInTiming timing, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.Email) || string.IsNullOrEmpty(request.Password))
        {
            return TypedResults.Problem("Send {\"email\": ..., \"password\": ...}.", statusCode: 400, title: "Email and password are required");
        }
        var user = await users.FindByEmailAsync(request.Email);
        if (user is null) timing.VerifyForUnknownUser(request.Password); // as slow as a wrong password: no hint the email is unknown
        if (user is null || await users.IsLockedOutAsync(user) || !await users.CheckPasswordAsync(user, request.Password))
        {
            if (user is not null) await users.AccessFailedAsync(user);
            return TypedResults.Problem("The email or password is wrong.", statusCode: 401, title: "Sign-in failed");
        }
        await users.ResetAccessFailedCountAsync(user);
        return TypedResults.Ok(new TokenResponse(await tokens.CreateTokenAsync(user.Id, ct)));
    }

    public static async Task<RedirectHttpResult> Logout(SignInManager<ApplicationUser> signIn, [FromForm] string? returnUrl)
    {
        await signIn.SignOutAsync();
        return TypedResults.LocalRedirect("/account/login");
    }
}
