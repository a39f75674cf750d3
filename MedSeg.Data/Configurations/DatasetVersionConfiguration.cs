using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class DatasetVersionConfiguration : IEntityTypeConfiguration<DatasetVersion>
{
    public void Configure(EntityTypeBuilder<DatasetVersion> builder)
    {
        builder.Property(v => v.ContentHash).HasMaxLength(64);
        builder.Property(v => v.Note).HasMaxLength(1000);
        builder.Property(v => v.CreatedById).HasMaxLength(450);
        builder.HasIndex(v => new { v.DatasetId, v.Number }).IsUnique();
    }
}

public sealed class SavedSplitConfiguration : IEntityTypeConfiguration<SavedSplit>
{
    public void Configure(EntityTypeBuilder<SavedSplit> builder)
    {
        builder.Property(s => s.Name).HasMaxLength(200);
        builder.Property(s => s.Kind).HasMaxLength(20);
        builder.Property(s => s.GroupPattern).HasMaxLength(400);
        builder.Property(s => s.CreatedById).HasMaxLength(450);
        builder.HasIndex(s => s.DatasetId);
        builder.HasOne<Dataset>().WithMany().HasForeignKey(s => s.DatasetId).OnDelete(DeleteBehavior.Cascade);
    }
}
