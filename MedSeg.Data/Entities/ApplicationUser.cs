using Microsoft.AspNetCore.Identity;

namespace MedSeg.Data.Entities;

public sealed class ApplicationUser : IdentityUser
{
    public DateTimeOffset CreatedAt { get; set; } = DateTimeOffset.UtcNow;
}
