using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace MedSeg.Data.Configurations;

public sealed class ExperimentGroupConfiguration : IEntityTypeConfiguration<ExperimentGroup>
{
    public void Configure(EntityTypeBuilder<ExperimentGroup> builder)
    {
        builder.Property(g => g.Name).HasMaxLength(200);
        builder.Property(g => g.OwnerId).HasMaxLength(450);
        builder.Property(g => g.Kind).HasMaxLength(20);
        builder.HasIndex(g => g.OwnerId);
        builder.HasOne<ApplicationUser>().WithMany().HasForeignKey(g => g.OwnerId).OnDelete(DeleteBehavior.Restrict);
    }
}
