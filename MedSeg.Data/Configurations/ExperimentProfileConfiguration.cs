using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class ExperimentProfileConfiguration : IEntityTypeConfiguration<ExperimentProfile>
{
    public void Configure(EntityTypeBuilder<ExperimentProfile> builder)
    {
        builder.HasKey(p => p.ExperimentId);
        builder.Property(p => p.Device).HasMaxLength(40);
        builder.Property(p => p.Error).HasMaxLength(2000);
        builder.HasOne<Experiment>().WithOne().HasForeignKey<ExperimentProfile>(p => p.ExperimentId).OnDelete(DeleteBehavior.Cascade);
    }
}
