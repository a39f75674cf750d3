using System.Security.Claims;

namespace MedSeg.Web.Features;

/// <summary>
/// Who is asking, and with which role. Admins see and manage everything; Members own their work and read what is shared
/// with them; Viewers only read what is shared with them. Services ask <see cref="Sharing.Access"/> what is visible and
/// <see cref="CanManage"/> who may change an item.
/// </summary>
public sealed record UserContext(string UserId, bool IsAdmin, bool IsViewer = false, string Name = "")
{
    public const string AdminRole = "Admin";
    public const string MemberRole = "Member";
    public const string ViewerRole = "Viewer";

    /// <summary>Every role, most powerful first (the order pages list them in).</summary>
    public static readonly IReadOnlyList<string> Roles = [AdminRole, MemberRole, ViewerRole];

    public static UserContext From(ClaimsPrincipal principal) =>
        new(principal.FindFirstValue(ClaimTypes.NameIdentifier)
                ?? throw new InvalidOperationException("The request has no signed-in user."),
            principal.IsInRole(AdminRole),
            !principal.IsInRole(AdminRole) && principal.IsInRole(ViewerRole),
            principal.Identity?.Name ?? "");

    public string Role => IsAdmin ? AdminRole : IsViewer ? ViewerRole : MemberRole;

    /// <summary>May create things of their own: upload datasets, launch experiments, start predictions.</summary>
    public bool CanCreate => !IsViewer;

    /// <summary>May cancel, resume, rename, share or delete an item: its owner or an admin (a shared item is read-only).</summary>
    public bool CanManage(string ownerId) => IsAdmin || (!IsViewer && ownerId == UserId);

    public bool Owns(string ownerId) => ownerId == UserId;
}
