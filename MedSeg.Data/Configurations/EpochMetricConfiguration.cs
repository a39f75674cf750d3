using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class EpochMetricConfiguration : IEntityTypeConfiguration<EpochMetric>
{
    public void Configure(EntityTypeBuilder<EpochMetric> builder)
    {
        builder.HasIndex(m => new { m.ExperimentId, m.Epoch }).IsUnique();
    }
}
