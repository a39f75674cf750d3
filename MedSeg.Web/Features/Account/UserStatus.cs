using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;

namespace MedSeg.Web.Features.Account;

/// <summary>
/// Whether an account may act right now: it exists, is not disabled, and is not locked out. Checked on every cookie
/// request, every bearer token and hub ticket, and by open pages' circuits, so that disabling a user stops all of them.
/// </summary>
public static class UserStatus
{
    public static bool IsActive(ApplicationUser user) =>
        !user.Disabled && !(user.LockoutEnabled && user.LockoutEnd is { } end && end > DateTimeOffset.UtcNow);

    /// <summary>Why the account cannot sign in, or null when it can.</summary>
    public static string? Refusal(ApplicationUser user) =>
        user.Disabled ? "This account is disabled; ask an administrator."
        : !IsActive(user) ? "This account is locked after too many failed attempts; try again in a few minutes."
        : null;

    /// <summary>
    /// The cookie's <c>OnValidatePrincipal</c> (in place of Identity's 30-minute security-stamp check): a cookie of a
    /// disabled, locked-out or deleted user, or one issued before the user's security stamp changed (a password change or
    /// reset, a new role), signs out at once.
    /// </summary>
    public static async Task ValidateCookieAsync(CookieValidatePrincipalContext context)
    {
        var id = context.Principal is { } p ? p.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value : null;
        if (id is null) return;
        var users = context.HttpContext.RequestServices.GetRequiredService<UserManager<ApplicationUser>>();
        var user = await users.FindByIdAsync(id);
        var stamp = context.Principal!.FindFirst(users.Options.ClaimsIdentity.SecurityStampClaimType)?.Value;
        if (user is not null && IsActive(user) && (!users.SupportsUserSecurityStamp || stamp == user.SecurityStamp)) return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(IdentityConstants.ApplicationScheme);
    }
}
