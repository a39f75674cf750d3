using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MedSeg.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class ReviewSurfaceMetrics : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "Assd",
                table: "ExperimentCases",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "AssdMm",
                table: "ExperimentCases",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClassMetricsJson",
                table: "ExperimentCases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "FalseNegatives",
                table: "ExperimentCases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "FalsePositives",
                table: "ExperimentCases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "Hd95",
                table: "ExperimentCases",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "Hd95Mm",
                table: "ExperimentCases",
                type: "REAL",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Assd",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "AssdMm",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "ClassMetricsJson",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "FalseNegatives",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "FalsePositives",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "Hd95",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "Hd95Mm",
                table: "ExperimentCases");
        }
    }
}
