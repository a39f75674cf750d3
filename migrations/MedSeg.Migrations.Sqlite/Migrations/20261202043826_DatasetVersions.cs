using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace MedSeg.Migrations.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class DatasetVersions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_DatasetCases_DatasetId_Name",
                table: "DatasetCases");

            migrationBuilder.AddColumn<int>(
                name: "DatasetVersion",
                table: "Experiments",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "Fold",
                table: "Experiments",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<Guid>(
                name: "SplitId",
                table: "Experiments",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClassDiceJson",
                table: "ExperimentCases",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClassDiceJson",
                table: "EpochMetrics",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "VolumeDiceJson",
                table: "EpochMetrics",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "ClassMapJson",
                table: "Datasets",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Source",
                table: "Datasets",
                type: "TEXT",
                maxLength: 20,
                nullable: false,
                defaultValue: "");

            migrationBuilder.AddColumn<string>(
                name: "SourceJson",
                table: "Datasets",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Version",
                table: "Datasets",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "AddedInVersion",
                table: "DatasetCases",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "GroupKey",
                table: "DatasetCases",
                type: "TEXT",
                maxLength: 400,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "LabelsPresent",
                table: "DatasetCases",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<int>(
                name: "RemovedInVersion",
                table: "DatasetCases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "SliceIndex",
                table: "DatasetCases",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "SpacingX",
                table: "DatasetCases",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "SpacingY",
                table: "DatasetCases",
                type: "REAL",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "DatasetVersions",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    DatasetId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Number = table.Column<int>(type: "INTEGER", nullable: false),
                    ContentHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CaseCount = table.Column<int>(type: "INTEGER", nullable: false),
                    Note = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: false),
                    CreatedById = table.Column<string>(type: "TEXT", maxLength: 450, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    FingerprintJson = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DatasetVersions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DatasetVersions_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "SavedSplits",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    DatasetId = table.Column<Guid>(type: "TEXT", nullable: false),
                    Version = table.Column<int>(type: "INTEGER", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Seed = table.Column<int>(type: "INTEGER", nullable: false),
                    ValidationFraction = table.Column<double>(type: "REAL", nullable: false),
                    Folds = table.Column<int>(type: "INTEGER", nullable: false),
                    GroupPattern = table.Column<string>(type: "TEXT", maxLength: 400, nullable: true),
                    TestFraction = table.Column<double>(type: "REAL", nullable: false),
                    AssignmentJson = table.Column<string>(type: "TEXT", nullable: false),
                    Groups = table.Column<int>(type: "INTEGER", nullable: false),
                    CreatedById = table.Column<string>(type: "TEXT", maxLength: 450, nullable: false),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_SavedSplits", x => x.Id);
                    table.ForeignKey(
                        name: "FK_SavedSplits_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_DatasetCases_DatasetId_Name",
                table: "DatasetCases",
                columns: new[] { "DatasetId", "Name" });

            migrationBuilder.CreateIndex(
                name: "IX_DatasetVersions_DatasetId_Number",
                table: "DatasetVersions",
                columns: new[] { "DatasetId", "Number" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_SavedSplits_DatasetId",
                table: "SavedSplits",
                column: "DatasetId");

            // Rows stored before versions: every dataset is its version 1 (its id doubles as the version's), every case
            // belongs to it, every experiment used it; the labels present follow from the foreground fraction (binary then).
            migrationBuilder.Sql("UPDATE Datasets SET Version = 1, Source = 'images'");
            migrationBuilder.Sql("UPDATE DatasetCases SET AddedInVersion = 1, LabelsPresent = CASE WHEN ForegroundFraction > 0 THEN 3 ELSE 1 END");
            migrationBuilder.Sql("UPDATE Experiments SET DatasetVersion = 1");
            migrationBuilder.Sql("INSERT INTO DatasetVersions (Id, DatasetId, Number, ContentHash, CaseCount, Note, CreatedById, CreatedAt) " +
                                 "SELECT Id, Id, 1, ContentHash, CaseCount, 'first upload', OwnerId, CreatedAt FROM Datasets");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "DatasetVersions");

            migrationBuilder.DropTable(
                name: "SavedSplits");

            migrationBuilder.DropIndex(
                name: "IX_DatasetCases_DatasetId_Name",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "DatasetVersion",
                table: "Experiments");

            migrationBuilder.DropColumn(
                name: "Fold",
                table: "Experiments");

            migrationBuilder.DropColumn(
                name: "SplitId",
                table: "Experiments");

            migrationBuilder.DropColumn(
                name: "ClassDiceJson",
                table: "ExperimentCases");

            migrationBuilder.DropColumn(
                name: "ClassDiceJson",
                table: "EpochMetrics");

            migrationBuilder.DropColumn(
                name: "VolumeDiceJson",
                table: "EpochMetrics");

            migrationBuilder.DropColumn(
                name: "ClassMapJson",
                table: "Datasets");

            migrationBuilder.DropColumn(
                name: "Source",
                table: "Datasets");

            migrationBuilder.DropColumn(
                name: "SourceJson",
                table: "Datasets");

            migrationBuilder.DropColumn(
                name: "Version",
                table: "Datasets");

            migrationBuilder.DropColumn(
                name: "AddedInVersion",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "GroupKey",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "LabelsPresent",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "RemovedInVersion",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "SliceIndex",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "SpacingX",
                table: "DatasetCases");

            migrationBuilder.DropColumn(
                name: "SpacingY",
                table: "DatasetCases");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetCases_DatasetId_Name",
                table: "DatasetCases",
                columns: new[] { "DatasetId", "Name" },
                unique: true);
        }
    }
}
