using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MedSeg.Migrations.SqlServer.Migrations
{
    /// <inheritdoc />
    public partial class ChildRestarts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Restarts",
                table: "Experiments",
                type: "int",
                nullable: false,
                defaultValue: 0);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Restarts",
                table: "Experiments");
        }
    }
}
