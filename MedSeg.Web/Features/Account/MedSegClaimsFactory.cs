using System.Security.Claims;
using MedSeg.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Account;

/// <summary>Adds the display name to the signed-in principal, so the app bar names the person (a rename shows after the
/// next sign-in or the cookie's next refresh).</summary>
public sealed class MedSegClaimsFactory(UserManager<ApplicationUser> users, RoleManager<IdentityRole> roles, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<ApplicationUser, IdentityRole>(users, roles, options)
{
    public const string DisplayNameClaim = "medseg:display_name";

    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(ApplicationUser user)
    {
        var identity = await base.GenerateClaimsAsync(user);
        identity.AddClaim(new Claim(DisplayNameClaim, Users.People.Name(user.DisplayName, user.Email)));
        return identity;
    }
}
