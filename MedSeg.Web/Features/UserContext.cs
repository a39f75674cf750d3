using System.Security.Claims;

namespace MedSeg.Web.Features;

/// <summary>Who is asking: services filter by owner unless the user is an admin.</summary>
public sealed record UserContext(string UserId, bool IsAdmin)
{
    public const string AdminRole = "Admin";

    public static UserContext From(ClaimsPrincipal principal) =>
        new(principal.FindFirstValue(ClaimTypes.NameIdentifier)
                ?? throw new InvalidOperationException("The request has no signed-in user."),
            principal.IsInRole(AdminRole));

    public bool CanSee(string ownerId) => IsAdmin || ownerId == UserId;
}
