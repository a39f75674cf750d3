using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class ShareConfiguration : IEntityTypeConfiguration<Share>
{
    public void Configure(EntityTypeBuilder<Share> builder)
    {
        builder.Property(s => s.Kind).HasConversion<string>().HasMaxLength(20);
        builder.Property(s => s.UserId).HasMaxLength(450);
        builder.Property(s => s.SharedById).HasMaxLength(450);
        // One grant per item and user; "everyone" (null user) is kept unique by ShareService (unique indexes treat nulls apart).
        builder.HasIndex(s => new { s.Kind, s.ResourceId, s.UserId }).IsUnique();
        builder.HasIndex(s => s.UserId);
        builder.HasOne<ApplicationUser>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
