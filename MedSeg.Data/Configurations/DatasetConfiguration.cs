using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class DatasetConfiguration : IEntityTypeConfiguration<Dataset>
{
    public void Configure(EntityTypeBuilder<Dataset> builder)
    {
        builder.Property(d => d.Name).HasMaxLength(200);
        builder.Property(d => d.OwnerId).HasMaxLength(450);
        builder.Property(d => d.ContentHash).HasMaxLength(64);
        builder.HasIndex(d => d.OwnerId);
        builder.HasOne<ApplicationUser>().WithMany().HasForeignKey(d => d.OwnerId).OnDelete(DeleteBehavior.Restrict);
        builder.Property(d => d.Source).HasMaxLength(20);
        builder.HasMany(d => d.Versions).WithOne().HasForeignKey(v => v.DatasetId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(d => d.Cases).WithOne(c => c.Dataset).HasForeignKey(c => c.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}
