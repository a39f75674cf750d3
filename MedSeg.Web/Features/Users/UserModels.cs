namespace MedSeg.Web.Features.Users;

/// <summary>A user as pages and <c>GET /api/users</c> show them. Admins see every field; others see the directory fields
/// (id, email, name, role) that sharing needs, the rest null.</summary>
public sealed record UserView(string Id, string Email, string DisplayName, string Name, string Role, bool? Disabled = null,
    DateTimeOffset? CreatedAt = null, bool? LockedOut = null, long? StorageQuotaBytes = null, int? JobQuota = null);

/// <param name="Password">The initial password; when empty one is generated and answered once.</param>
public sealed record CreateUserRequest(string? Email, string? DisplayName = null, string? Role = null, string? Password = null);

/// <summary>The created user and, when the server chose it, the one-time initial password (shown once, never stored in clear).</summary>
public sealed record CreatedUser(UserView User, string? InitialPassword);

/// <summary>After a password change or reset: the generated password, once, when an admin reset without choosing one.</summary>
public sealed record PasswordSet(UserView User, string? Password);

/// <summary>Every field optional: only those sent change. Role, Disabled and the quotas are for admins; DisplayName also for oneself.
/// A quota of -1 clears the override (back to the server default); 0 is unlimited.</summary>
public sealed record UpdateUserRequest(string? Role = null, bool? Disabled = null, string? DisplayName = null, long? StorageQuotaBytes = null,
    int? JobQuota = null);

/// <summary>An admin resetting a password sends <c>password</c> (or nothing, to have one generated); a user changing their
/// own sends <c>currentPassword</c> too.</summary>
public sealed record PasswordRequest(string? Password = null, string? CurrentPassword = null);

/// <summary>The outcome of a user-management call: done (with what to answer), or refused with the field and why.</summary>
public abstract record UserResult
{
    public sealed record Done(UserView User, string? Password = null) : UserResult;

    public sealed record Invalid(string Field, string Message) : UserResult;

    public sealed record NotFound : UserResult;

    public sealed record Forbidden(string Message) : UserResult;
}
