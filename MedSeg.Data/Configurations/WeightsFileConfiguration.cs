using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class WeightsFileConfiguration : IEntityTypeConfiguration<WeightsFile>
{
    public void Configure(EntityTypeBuilder<WeightsFile> builder)
    {
        builder.Property(w => w.Name).HasMaxLength(200);
        builder.Property(w => w.FileName).HasMaxLength(400);
        builder.Property(w => w.StoredPath).HasMaxLength(400);
        builder.Property(w => w.Format).HasMaxLength(20);
        builder.Property(w => w.Sha256).HasMaxLength(64);
        builder.Property(w => w.UploadedById).HasMaxLength(450);
        builder.HasIndex(w => w.Sha256);
    }
}
