using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class DatasetCaseConfiguration : IEntityTypeConfiguration<DatasetCase>
{
    public void Configure(EntityTypeBuilder<DatasetCase> builder)
    {
        builder.Property(c => c.Name).HasMaxLength(400);
        builder.Property(c => c.ImagePath).HasMaxLength(1000);
        builder.Property(c => c.MaskPath).HasMaxLength(1000);
        builder.Property(c => c.ImageSha256).HasMaxLength(64);
        builder.Property(c => c.MaskSha256).HasMaxLength(64);
        builder.HasIndex(c => new { c.DatasetId, c.Name }).IsUnique();
    }
}
