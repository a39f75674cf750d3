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
        builder.Property(c => c.GroupKey).HasMaxLength(400);
        // Not unique: a case removed in one version may come back (a new row) in a later one; a version's names are unique.
        builder.HasIndex(c => new { c.DatasetId, c.Name });
    }
}
