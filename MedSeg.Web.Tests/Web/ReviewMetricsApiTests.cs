using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Files;
using MedSeg.Engine.Data;
using MedSeg.Engine.Metrics;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using NetVips;

namespace MedSeg.Web.Tests.Web;

/// <summary>GET /api/experiments/{id}/cases carries the evaluation's surface metrics, FP/FN and per-class rows, the values a
/// <see cref="MetricAccumulator"/> gives for the stored prediction and its mask; cases.csv exports the table with the page's filters.</summary>
[Collection(AppCollection.Name)]
public sealed class ReviewMetricsApiTests : IClassFixture<ReviewMetricsApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public ReviewMetricsApiTests(App app) => factory = app.Factory;

    [Fact]
    public async Task CasesCarrySurfaceMetricsEqualToTheAccumulatorsAndExportAsCsv()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(10, 48)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 4, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, launch.StatusCode);
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ExperimentsApiTests.WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));

        var cases = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/cases");
        Assert.Equal(2, cases.GetArrayLength());
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var store = scope.ServiceProvider.GetRequiredService<ArtifactStore>();
        var runDir = Path.Combine(factory.DataRoot, "experiments", id.ToString("N"));
        foreach (var c in cases.EnumerateArray())
        {
            foreach (var field in new[] { "hd95", "assd", "hd95Mm", "assdMm", "fp", "fn", "classes", "truthEmpty" })
                Assert.True(c.TryGetProperty(field, out _), $"no {field} in {c}");
            // The synthetic PNGs state no spacing: no mm.
            Assert.Equal(JsonValueKind.Null, c.GetProperty("hd95Mm").ValueKind);
            Assert.Equal(JsonValueKind.Null, c.GetProperty("assdMm").ValueKind);

            var caseId = c.GetProperty("caseId").GetGuid();
            var row = await db.ExperimentCases.AsNoTracking().Include(x => x.DatasetCase).SingleAsync(x => x.ExperimentId == id && x.DatasetCaseId == caseId);
            var truth = MaskReader.Read(ArtifactStore.Resolve(store.DatasetDirectory(datasetId), row.DatasetCase!.MaskPath));
            using var png = Image.NewFromFile(Path.Combine(runDir, row.PredictionPath!));
            var predicted = png.WriteToMemory<byte>();
            var accumulator = new MetricAccumulator();
            accumulator.Update(predicted, truth.Pixels, truth.Height, truth.Width);
            double? Expected(SegmentationMetric m) => accumulator.Values(1, m)[0] is { IsDefined: true } v ? v.Value : null;
            double? Actual(string name) => c.GetProperty(name).ValueKind == JsonValueKind.Null ? null : c.GetProperty(name).GetDouble();
            Assert.Equal(Expected(SegmentationMetric.Hd95), Actual("hd95"));
            Assert.Equal(Expected(SegmentationMetric.Assd), Actual("assd"));
            Assert.Equal(Expected(SegmentationMetric.Dice)!.Value, c.GetProperty("dice").GetDouble(), 9);
            var counts = ConfusionCounts.From(predicted, truth.Pixels);
            Assert.Equal((counts.Fp, counts.Fn), (c.GetProperty("fp").GetInt64(), c.GetProperty("fn").GetInt64()));
            var classRow = Assert.Single(c.GetProperty("classes").EnumerateArray());
            Assert.Equal(1, classRow.GetProperty("class").GetInt32());
            Assert.Equal(Actual("hd95"), classRow.GetProperty("hd95").ValueKind == JsonValueKind.Null ? null : classRow.GetProperty("hd95").GetDouble());
        }

        // The CSV: worst Dice first, every column; a Dice threshold filters; a bad threshold or class is refused naming the field.
        var csv = await client.GetAsync($"/api/experiments/{id}/cases.csv");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("case,class,truth_empty,dice,iou,precision,recall,hd95,assd,hd95Mm,assdMm,fp,fn", lines[0]);
        Assert.Equal(cases.EnumerateArray().Select(c => c.GetProperty("name").GetString()), lines.Skip(1).Select(l => l.Split(',')[0]));
        var worst = cases[0].GetProperty("dice").GetDouble();
        var below = await client.GetStringAsync($"/api/experiments/{id}/cases.csv?diceBelow={worst.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.Single(below.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)); // the header: no case scores below the worst
        var refused = await client.GetAsync($"/api/experiments/{id}/cases.csv?diceBelow=2&class=5");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var errors = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("between 0 and 1", errors.GetProperty("diceBelow")[0].GetString());
        Assert.Contains("use one of 1", errors.GetProperty("class")[0].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/experiments/{Guid.NewGuid()}/cases.csv")).StatusCode);
    }
}
