using System.Security.Cryptography;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Users;

/// <summary>
/// User management: admins create users (with a one-time initial password), change roles, disable and enable, reset
/// passwords and set quotas; everyone changes their own display name and password. The last active admin can be neither
/// demoted nor disabled. Disabling changes the security stamp, and every request, token and open page checks
/// <see cref="Account.UserStatus"/>, so a disabled user stops at once.
/// </summary>
public sealed class UserService(UserManager<ApplicationUser> users, AuditLog audit)
{
    public async Task<IReadOnlyList<UserView>> ListAsync(UserContext caller, CancellationToken ct = default)
    {
        var all = await users.Users.AsNoTracking().OrderBy(u => u.Email).ToListAsync(ct);
        var roles = await RolesAsync(ct);
        return [.. all.Where(u => caller.IsAdmin || !u.Disabled).Select(u => View(u, roles, caller.IsAdmin))];
    }

    public async Task<UserView?> GetAsync(string id, UserContext caller, CancellationToken ct = default)
    {
        if (!caller.IsAdmin && id != caller.UserId) return null;
        var user = await users.FindByIdAsync(id);
        return user is null ? null : View(user, await RolesAsync(ct), true);
    }

    public async Task<UserResult> CreateAsync(CreateUserRequest request, UserContext admin, CancellationToken ct = default)
    {
        if (!admin.IsAdmin) return new UserResult.Forbidden("Only an admin creates users.");
        var email = request.Email?.Trim() ?? "";
        if (email.Length == 0 || !new System.ComponentModel.DataAnnotations.EmailAddressAttribute().IsValid(email))
        {
            return new UserResult.Invalid("email", "Enter the person's email address (it is their sign-in name).");
        }
        var role = NormalizeRole(request.Role ?? UserContext.MemberRole);
        if (role is null) return new UserResult.Invalid("role", $"The role is one of {string.Join(", ", UserContext.Roles)}.");
        if (CheckDisplayName(request.DisplayName) is { } badName) return new UserResult.Invalid("displayName", badName);
        if (await users.FindByEmailAsync(email) is not null) return new UserResult.Invalid("email", $"A user with the email {email} exists already.");
        var generated = string.IsNullOrEmpty(request.Password);
        var password = generated ? GeneratePassword() : request.Password!;
        var user = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true, DisplayName = request.DisplayName?.Trim() ?? "" };
        var created = await users.CreateAsync(user, password);
        if (!created.Succeeded) return Invalid(created, "password");
        await users.AddToRoleAsync(user, role);
        await audit.WriteAsync(admin, new AuditRecord(AuditActions.UserCreate, "user", user.Id, $"{email} as {role}"), ct);
        return new UserResult.Done(View(user, await RolesAsync(ct), true), generated ? password : null);
    }

    public async Task<UserResult> UpdateAsync(string id, UpdateUserRequest request, UserContext caller, CancellationToken ct = default)
    {
        var self = id == caller.UserId;
        if (!caller.IsAdmin && !self) return new UserResult.NotFound();
        var user = await users.FindByIdAsync(id);
        if (user is null) return new UserResult.NotFound();
        if (!caller.IsAdmin && (request.Role is not null || request.Disabled is not null || request.StorageQuotaBytes is not null || request.JobQuota is not null))
        {
            return new UserResult.Forbidden("Only an admin changes roles, quotas or whether an account is enabled; you can change your display name.");
        }
        var changes = new List<string>();
        var roles = await RolesAsync(ct);
        var currentRole = RoleOf(user.Id, roles);
        string? newRole = null;
        if (request.Role is not null)
        {
            newRole = NormalizeRole(request.Role);
            if (newRole is null) return new UserResult.Invalid("role", $"The role is one of {string.Join(", ", UserContext.Roles)}.");
        }
        if (CheckDisplayName(request.DisplayName) is { } badName) return new UserResult.Invalid("displayName", badName);
        if (request.StorageQuotaBytes is < -1) return new UserResult.Invalid("storageQuotaBytes", "Bytes ≥ 0 (0 = unlimited), or -1 for the server default.");
        if (request.JobQuota is < -1) return new UserResult.Invalid("jobQuota", "Jobs ≥ 0 (0 = unlimited), or -1 for the server default.");
        var losesAdmin = currentRole == UserContext.AdminRole && !user.Disabled
                         && ((newRole is not null && newRole != UserContext.AdminRole) || request.Disabled == true);
        if (losesAdmin && await ActiveAdminCountAsync(roles, ct) <= 1)
        {
            return new UserResult.Invalid(request.Disabled == true ? "disabled" : "role",
                "This is the last active admin: make another user an admin first.");
        }
        if (request.DisplayName is not null && request.DisplayName.Trim() != user.DisplayName)
        {
            user.DisplayName = request.DisplayName.Trim();
            changes.Add($"display name '{user.DisplayName}'");
        }
        if (request.StorageQuotaBytes is { } storage && (storage < 0 ? null : storage) != user.StorageQuotaBytes)
        {
            user.StorageQuotaBytes = storage < 0 ? null : storage;
            changes.Add($"storage quota {(storage < 0 ? "default" : storage == 0 ? "unlimited" : Shared.Format.Bytes(storage))}");
        }
        if (request.JobQuota is { } jobs && (jobs < 0 ? null : jobs) != user.JobQuota)
        {
            user.JobQuota = jobs < 0 ? null : jobs;
            changes.Add($"job quota {(jobs < 0 ? "default" : jobs == 0 ? "unlimited" : jobs.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        }
        var stopSessions = false;
        if (request.Disabled is { } disabled && disabled != user.Disabled)
        {
            user.Disabled = disabled;
            stopSessions = disabled;
            changes.Add(disabled ? "disabled" : "enabled");
        }
        var updated = await users.UpdateAsync(user);
        if (!updated.Succeeded) return Invalid(updated, "");
        if (newRole is not null && newRole != currentRole)
        {
            var existing = await users.GetRolesAsync(user);
            if (existing.Count > 0) await users.RemoveFromRolesAsync(user, existing);
            await users.AddToRoleAsync(user, newRole);
            changes.Add($"role {currentRole} → {newRole}");
            stopSessions = true; // the role is a claim in the cookie: sign in again to get the new one
        }
        if (stopSessions) await users.UpdateSecurityStampAsync(user);
        if (changes.Count > 0)
        {
            await audit.WriteAsync(caller, new AuditRecord(AuditActions.UserUpdate, "user", user.Id, $"{user.Email}: {string.Join(", ", changes)}"), ct);
        }
        return new UserResult.Done(View(user, await RolesAsync(ct), caller.IsAdmin));
    }

    public async Task<UserResult> SetPasswordAsync(string id, PasswordRequest request, UserContext caller, CancellationToken ct = default)
    {
        var self = id == caller.UserId;
        if (!caller.IsAdmin && !self) return new UserResult.NotFound();
        var user = await users.FindByIdAsync(id);
        if (user is null) return new UserResult.NotFound();
        string? generated = null;
        IdentityResult result;
        if (self && !caller.IsAdmin || self && request.CurrentPassword is not null)
        {
            if (string.IsNullOrEmpty(request.Password)) return new UserResult.Invalid("password", "Enter the new password.");
            if (string.IsNullOrEmpty(request.CurrentPassword)) return new UserResult.Invalid("currentPassword", "Enter your current password.");
            result = await users.ChangePasswordAsync(user, request.CurrentPassword, request.Password);
            if (!result.Succeeded && result.Errors.Any(e => e.Code == "PasswordMismatch"))
            {
                return new UserResult.Invalid("currentPassword", "The current password is wrong.");
            }
        }
        else
        {
            var password = string.IsNullOrEmpty(request.Password) ? generated = GeneratePassword() : request.Password;
            var reset = await users.GeneratePasswordResetTokenAsync(user);
            result = await users.ResetPasswordAsync(user, reset, password);
        }
        if (!result.Succeeded) return Invalid(result, "password");
        await users.UpdateSecurityStampAsync(user);
        await audit.WriteAsync(caller, new AuditRecord(AuditActions.UserPassword, "user", user.Id,
            self ? $"{user.Email} changed their password" : $"{user.Email}: password reset by an admin"), ct);
        return new UserResult.Done(View(user, await RolesAsync(ct), caller.IsAdmin), generated);
    }

    /// <summary>A one-time initial password that meets the password rules (length, digit, both cases).</summary>
    public static string GeneratePassword()
    {
        const string alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        var chars = new char[16];
        for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        chars[RandomNumberGenerator.GetInt32(0, 5)] = (char)('a' + RandomNumberGenerator.GetInt32(26));
        chars[RandomNumberGenerator.GetInt32(5, 10)] = (char)('A' + RandomNumberGenerator.GetInt32(26));
        chars[RandomNumberGenerator.GetInt32(10, 16)] = (char)('2' + RandomNumberGenerator.GetInt32(8));
        return new string(chars);
    }

    private static string? NormalizeRole(string role) =>
        UserContext.Roles.FirstOrDefault(r => string.Equals(r, role.Trim(), StringComparison.OrdinalIgnoreCase));

    private static string? CheckDisplayName(string? name) => name is { Length: > 100 } ? "The display name is at most 100 characters." : null;

    private static UserResult.Invalid Invalid(IdentityResult result, string field) =>
        new(field, string.Join(" ", result.Errors.Select(e => e.Description)));

    /// <summary>User id → role name (users without a role row are Members).</summary>
    private async Task<Dictionary<string, string>> RolesAsync(CancellationToken ct)
    {
        var map = new Dictionary<string, string>();
        foreach (var role in UserContext.Roles.Reverse())
        {
            foreach (var u in await users.GetUsersInRoleAsync(role)) map[u.Id] = role; // Admin last: it wins
        }
        return map;
    }

    private static string RoleOf(string id, Dictionary<string, string> roles) => roles.TryGetValue(id, out var r) ? r : UserContext.MemberRole;

    private async Task<int> ActiveAdminCountAsync(Dictionary<string, string> roles, CancellationToken ct)
    {
        var admins = roles.Where(r => r.Value == UserContext.AdminRole).Select(r => r.Key).ToList();
        return await users.Users.CountAsync(u => admins.Contains(u.Id) && !u.Disabled, ct);
    }

    private static UserView View(ApplicationUser u, Dictionary<string, string> roles, bool full) =>
        full
            ? new UserView(u.Id, u.Email ?? "", u.DisplayName, People.Name(u.DisplayName, u.Email), RoleOf(u.Id, roles), u.Disabled, u.CreatedAt,
                u.LockoutEnd > DateTimeOffset.UtcNow, u.StorageQuotaBytes, u.JobQuota)
            : new UserView(u.Id, u.Email ?? "", u.DisplayName, People.Name(u.DisplayName, u.Email), RoleOf(u.Id, roles));
}
