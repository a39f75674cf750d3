using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class ExperimentConfiguration : IEntityTypeConfiguration<Experiment>
{
    public void Configure(EntityTypeBuilder<Experiment> builder)
    {
        builder.Property(e => e.Name).HasMaxLength(200);
        builder.Property(e => e.OwnerId).HasMaxLength(450);
        builder.Property(e => e.Model).HasMaxLength(64);
        builder.Property(e => e.JobId).HasMaxLength(100);
        builder.Property(e => e.RunnerId).HasMaxLength(200);
        builder.Property(e => e.Status).HasConversion<string>().HasMaxLength(20);
        builder.HasIndex(e => e.OwnerId);
        builder.HasIndex(e => e.Status);
        builder.HasIndex(e => e.GroupId);
        builder.Property(e => e.Variant).HasMaxLength(64);
        builder.HasOne<ApplicationUser>().WithMany().HasForeignKey(e => e.OwnerId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne(e => e.Dataset).WithMany().HasForeignKey(e => e.DatasetId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(e => e.Cases).WithOne().HasForeignKey(c => c.ExperimentId).OnDelete(DeleteBehavior.Cascade);
        builder.HasMany(e => e.Metrics).WithOne().HasForeignKey(m => m.ExperimentId).OnDelete(DeleteBehavior.Cascade);
    }
}
