using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class ExperimentCaseConfiguration : IEntityTypeConfiguration<ExperimentCase>
{
    public void Configure(EntityTypeBuilder<ExperimentCase> builder)
    {
        builder.Property(c => c.Split).HasConversion<string>().HasMaxLength(20);
        builder.Property(c => c.PredictionPath).HasMaxLength(1000);
        builder.HasIndex(c => new { c.ExperimentId, c.DatasetCaseId }).IsUnique();
        builder.HasOne(c => c.DatasetCase).WithMany().HasForeignKey(c => c.DatasetCaseId).OnDelete(DeleteBehavior.Restrict);
    }
}
