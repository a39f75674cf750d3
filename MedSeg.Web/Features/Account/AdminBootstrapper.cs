using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Account;

/// <summary>Creates the roles (Admin, Member, Viewer), and the first admin from configuration when no user exists yet.</summary>
public sealed class AdminBootstrapper(UserManager<ApplicationUser> users, RoleManager<IdentityRole> roles,
    IOptions<AdminOptions> admin, ILogger<AdminBootstrapper> logger, MedSegDbContext db)
{
    public bool AnyUser() => users.Users.Any();

    public async Task EnsureAsync()
    {
        foreach (var role in UserContext.Roles)
        {
            if (!await roles.RoleExistsAsync(role)) await roles.CreateAsync(new IdentityRole(role));
        }
        var options = admin.Value;
        if (AnyUser() || string.IsNullOrWhiteSpace(options.Email) || string.IsNullOrEmpty(options.Password)) return;
        var errors = await CreateAdminAsync(options.Email, options.Password);
        if (errors is [FirstAdminGate.AlreadyExists]) return; // another node (or the setup page) was first
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(
                $"MedSeg:Admin could not create the admin '{options.Email}': {string.Join(" ", errors)} " +
                "Fix MedSeg__Admin__Email / MedSeg__Admin__Password.");
        }
        logger.LogInformation("Created the admin {Email} from configuration.", options.Email);
    }

    /// <summary>Creates the first admin, only while no user exists (atomically: <see cref="FirstAdminGate"/>); returns the
    /// problems (empty on success; <see cref="FirstAdminGate.AlreadyExists"/> when another request created it first).</summary>
    public Task<IReadOnlyList<string>> CreateAdminAsync(string email, string password) =>
        FirstAdminGate.CreateAsync(db, () => CreateUserAsync(email, password));

    private async Task<IReadOnlyList<string>> CreateUserAsync(string email, string password)
    {
        var user = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true };
        var result = await users.CreateAsync(user, password);
        if (!result.Succeeded) return [.. result.Errors.Select(e => e.Description)];
        await users.AddToRoleAsync(user, UserContext.AdminRole);
        return [];
    }
}
