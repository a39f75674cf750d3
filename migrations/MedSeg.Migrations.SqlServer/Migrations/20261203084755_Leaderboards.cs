using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MedSeg.Migrations.SqlServer.Migrations
{
    /// <inheritdoc />
    public partial class Leaderboards : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ExperimentProfiles",
                columns: table => new
                {
                    ExperimentId = table.Column<Guid>(type: "uniqueidentifier", nullable: false),
                    Parameters = table.Column<long>(type: "bigint", nullable: true),
                    Macs = table.Column<long>(type: "bigint", nullable: true),
                    ImageSize = table.Column<int>(type: "int", nullable: false),
                    LatencyMs = table.Column<double>(type: "float", nullable: true),
                    Device = table.Column<string>(type: "nvarchar(40)", maxLength: 40, nullable: true),
                    Hd95 = table.Column<double>(type: "float", nullable: true),
                    PeakMemoryBytes = table.Column<long>(type: "bigint", nullable: true),
                    Error = table.Column<string>(type: "nvarchar(2000)", maxLength: 2000, nullable: true),
                    MeasuredAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExperimentProfiles", x => x.ExperimentId);
                    table.ForeignKey(
                        name: "FK_ExperimentProfiles_Experiments_ExperimentId",
                        column: x => x.ExperimentId,
                        principalTable: "Experiments",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ExperimentProfiles");
        }
    }
}
