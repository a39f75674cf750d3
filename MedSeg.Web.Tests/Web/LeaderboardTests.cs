using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Models;
using MedSeg.Web.Features.Leaderboards;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Leaderboards: the launch's validation (each refusal a 400 naming its field, nothing stored), the table read from
/// the stored runs, and one real run measured by its training process.</summary>
[Collection(AppCollection.Name)]
public sealed class LeaderboardTests(LeaderboardTests.App app) : IClassFixture<LeaderboardTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory = app.Factory;

    private static async Task<Guid> DatasetAsync(HttpClient client, string name, int cases = 6)
    {
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload(name, SyntheticDataset.Zip(cases, 32)));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private async Task<int> LeaderboardCountAsync()
    {
        await using var db = await factory.Services.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync();
        return await db.ExperimentGroups.CountAsync(g => g.Kind == LeaderboardService.Kind);
    }

    /// <summary>The field names of a 400 validation problem.</summary>
    private static async Task<(IReadOnlyList<string> Fields, string Body)> RefusedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors");
        return ([.. errors.EnumerateObject().Select(p => p.Name)], body);
    }

    [Fact]
    public async Task LaunchRefusesBadRequestsNamingTheFieldAndStoresNothing()
    {
        using var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, "leaderboard checks");
        var before = await LeaderboardCountAsync();
        var experiments = (await client.GetFromJsonAsync<JsonElement>("/api/experiments")).GetArrayLength();
        var cases = new (object Body, string Field, string Says)[]
        {
            (new { datasetId, models = new[] { "unext", "resnet-9000" }, epochs = 1 }, "models", "resnet-9000"),
            (new { datasetId, models = new[] { "unext", "UNeXt" }, epochs = 1 }, "models", "twice"),
            (new { datasetId = Guid.NewGuid(), models = new[] { "unext" }, epochs = 1 }, "datasetId", "No such dataset"),
            (new { models = new[] { "unext" }, epochs = 1 }, "datasetId", "Choose a dataset"),
            (new { datasetId, models = new[] { "unext" }, epochs = 1, timeBudgetHours = 1.0 }, "epochs", "not both"),
            (new { datasetId, models = new[] { "unext" } }, "epochs", "not neither"),
            (new { datasetId, models = new[] { "unext" }, epochs = 0 }, "epochs", "between 1 and"),
            (new { datasetId, models = new[] { "unext" }, timeBudgetHours = -2.0 }, "timeBudgetHours", "above 0"),
            (new { datasetId, models = new[] { "unext" }, epochs = 1, splitId = Guid.NewGuid() }, "splitId", "No such split"),
        };
        foreach (var (body, field, says) in cases)
        {
            var (fields, text) = await RefusedAsync(await client.PostAsJsonAsync("/api/leaderboards", body));
            Assert.True(fields.SequenceEqual([field]), $"{JsonSerializer.Serialize(body)} → {text}");
            Assert.Contains(says, text);
        }
        Assert.Equal(before, await LeaderboardCountAsync());
        Assert.Equal(experiments, (await client.GetFromJsonAsync<JsonElement>("/api/experiments")).GetArrayLength());
    }

    [Fact]
    public async Task AModelThatWouldNotFitTheMemoryCeilingRefusesTheWholeLeaderboard()
    {
        using var small = new MedSegAppFactory(new() { ["MedSeg:Jobs:MemoryCeilingBytes"] = (1L << 20).ToString(), ["MedSeg:Jobs:RunServer"] = "false" });
        using var client = await small.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, "leaderboard memory");
        var (fields, body) = await RefusedAsync(await client.PostAsJsonAsync("/api/leaderboards", new { datasetId, models = new[] { "unext", "hrnet" }, epochs = 1 }));
        Assert.Contains("batchSize", fields);
        Assert.Contains("unext: ", body);
        Assert.Contains("one run may use here", body);
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/api/leaderboards")).GetArrayLength());
        Assert.Equal(0, (await client.GetFromJsonAsync<JsonElement>("/api/experiments")).GetArrayLength());
    }

    [Fact]
    public async Task TheTableComesFromTheStoredRunsWithMeanAndStdOverFolds()
    {
        using var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, "leaderboard table");
        var caseIds = (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{datasetId}/cases")).EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).ToList();
        Guid boardId;
        var runs = new Dictionary<(string Model, int Fold), Guid>();
        await using (var db = await factory.Services.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync())
        {
            var owner = await db.Users.Where(u => u.Email == MedSegAppFactory.AdminEmail).Select(u => u.Id).SingleAsync();
            var board = new ExperimentGroup
            {
                Id = Guid.NewGuid(), Name = "stored table", OwnerId = owner, DatasetId = datasetId, Kind = LeaderboardService.Kind,
                BaseJson = """{"epochs":3,"models":["unext","hrnet"]}""",
            };
            db.ExperimentGroups.Add(board);
            boardId = board.Id;
            // unext on two folds: validation Dice 0.6/0.8 and 0.7/0.9 → run means 0.7 and 0.8 → 0.75 ± 0.0707.
            (string Model, int Fold, double[] Dice, double Seconds, double Latency, double Hd95, long Peak, ExperimentStatus Status)[] rows =
            [
                ("unext", 0, [0.6, 0.8], 10, 2.0, 3.0, 300L << 20, ExperimentStatus.Completed),
                ("unext", 1, [0.7, 0.9], 14, 4.0, 5.0, 400L << 20, ExperimentStatus.Completed),
                ("hrnet", 0, [0.5, 0.5], 20, 8.0, 7.5, 500L << 20, ExperimentStatus.Completed),
                ("hrnet", 1, [], 0, 0, 0, 0, ExperimentStatus.Running),
            ];
            foreach (var r in rows)
            {
                var id = Guid.NewGuid();
                runs[(r.Model, r.Fold)] = id;
                db.Experiments.Add(new Experiment
                {
                    Id = id, Name = $"{r.Model} fold {r.Fold}", OwnerId = owner, DatasetId = datasetId, Model = r.Model, Fold = r.Fold, GroupId = board.Id,
                    Epochs = 3, BatchSize = 2, ImageSize = 32, ConfigJson = "{}", Status = r.Status,
                });
                for (var i = 0; i < r.Dice.Length; i++)
                    db.ExperimentCases.Add(new ExperimentCase { Id = Guid.NewGuid(), ExperimentId = id, DatasetCaseId = caseIds[i], Split = CaseSplit.Validation, Dice = r.Dice[i], IoU = r.Dice[i] / 2 });
                if (r.Status != ExperimentStatus.Completed) continue;
                db.EpochMetrics.Add(new EpochMetric { ExperimentId = id, Epoch = 1, Seconds = r.Seconds * 0.25 });
                db.EpochMetrics.Add(new EpochMetric { ExperimentId = id, Epoch = 2, Seconds = r.Seconds * 0.75 });
                db.ExperimentProfiles.Add(new ExperimentProfile
                {
                    ExperimentId = id, Parameters = r.Model == "unext" ? 1_470_000 : 1_500_000, Macs = 2_500_000_000, ImageSize = 32, LatencyMs = r.Latency,
                    Device = "cpu", Hd95 = r.Hd95, PeakMemoryBytes = r.Peak,
                });
            }
            await db.SaveChangesAsync();
        }

        var board1 = await client.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{boardId}");
        Assert.Equal("running", board1.GetProperty("status").GetString());
        Assert.Equal(3, board1.GetProperty("epochs").GetInt32());
        var table = board1.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("model").GetString()!);
        Assert.Equal(["unext", "hrnet"], board1.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("model").GetString()));
        var unext = table["unext"];
        Assert.Equal(0.75, unext.GetProperty("dice").GetProperty("mean").GetDouble(), 9);
        Assert.Equal(Math.Sqrt(0.005), unext.GetProperty("dice").GetProperty("std").GetDouble(), 9);
        Assert.Equal(0.375, unext.GetProperty("ioU").GetProperty("mean").GetDouble(), 9);
        Assert.Equal(4.0, unext.GetProperty("hd95").GetProperty("mean").GetDouble(), 9);
        Assert.Equal(Math.Sqrt(2), unext.GetProperty("hd95").GetProperty("std").GetDouble(), 9);
        Assert.Equal(3.0, unext.GetProperty("latencyMs").GetDouble(), 9);
        Assert.Equal(12.0, unext.GetProperty("trainingSeconds").GetDouble(), 9);
        Assert.Equal(400L << 20, unext.GetProperty("peakMemoryBytes").GetInt64());
        Assert.Equal(1_470_000, unext.GetProperty("parameters").GetInt64());
        Assert.Equal(2.5, unext.GetProperty("gMacs").GetDouble(), 9);
        Assert.Equal("completed", unext.GetProperty("status").GetString());
        Assert.Equal([runs[("unext", 0)], runs[("unext", 1)]], unext.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("experimentId").GetGuid()));
        // hrnet: one completed fold (no std), one still running (not counted).
        var hrnet = table["hrnet"];
        Assert.Equal(0.5, hrnet.GetProperty("dice").GetProperty("mean").GetDouble(), 9);
        Assert.Equal(JsonValueKind.Null, hrnet.GetProperty("dice").GetProperty("std").ValueKind);
        Assert.Equal("running", hrnet.GetProperty("status").GetString());

        var csv = await client.GetStringAsync($"/api/leaderboards/{boardId}/table.csv");
        var lines = csv.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(LeaderboardCsv.Header, lines[0]);
        Assert.StartsWith("unext,,32,2,1470000,2.5,3,0.75,0.070711,0.375,", lines[1]);
        Assert.Contains($"/experiments/{runs[("unext", 0)]} /experiments/{runs[("unext", 1)]}", lines[1]);
        Assert.Equal(3, lines.Length);
    }

    [Fact]
    public async Task ALeaderboardRunIsTrainedWithItsSuggestedSettingsAndMeasuredOnce()
    {
        using var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, "leaderboard run");
        var response = await client.PostAsJsonAsync("/api/leaderboards", new { datasetId, models = new[] { "unext" }, epochs = 1, name = "one model" });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var runId = Assert.Single(accepted.GetProperty("members").EnumerateArray()).GetGuid();
        var run = await ExperimentsApiTests.WaitForStatusAsync(client, runId, "Completed", TimeSpan.FromMinutes(3));
        var suggested = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{datasetId}/suggestion?model=unext");
        Assert.Equal(suggested.GetProperty("request").GetProperty("imageSize").GetInt32(), run.GetProperty("config").GetProperty("imageSize").GetInt32());
        Assert.Equal(suggested.GetProperty("request").GetProperty("batchSize").GetInt32(), run.GetProperty("config").GetProperty("batchSize").GetInt32());
        Assert.Equal(1, run.GetProperty("config").GetProperty("epochs").GetInt32());

        var board = await client.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{accepted.GetProperty("id").GetGuid()}");
        Assert.Equal("completed", board.GetProperty("status").GetString());
        var row = Assert.Single(board.GetProperty("rows").EnumerateArray());
        var size = row.GetProperty("imageSize").GetInt32();
        using (var model = ModelRegistry.Create("unext", new ModelOptions(3, 1)))
        {
            var complexity = Complexity.Measure(model, 3, size, size);
            Assert.Equal(complexity.Parameters, row.GetProperty("parameters").GetInt64());
            Assert.Equal(complexity.GMacs, row.GetProperty("gMacs").GetDouble(), 9);
        }
        Assert.True(row.GetProperty("latencyMs").GetDouble() > 0);
        Assert.True(row.GetProperty("peakMemoryBytes").GetInt64() > 10L << 20);
        Assert.True(row.GetProperty("trainingSeconds").GetDouble() > 0);
        var runRow = Assert.Single(row.GetProperty("runs").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, runRow.GetProperty("measurementError").ValueKind);
        var cases = (await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{runId}/cases")).EnumerateArray()
            .Where(c => c.TryGetProperty("dice", out var d) && d.ValueKind == JsonValueKind.Number).Select(c => c.GetProperty("dice").GetDouble()).ToList();
        Assert.NotEmpty(cases);
        Assert.Equal(cases.Average(), row.GetProperty("dice").GetProperty("mean").GetDouble(), 9);
    }
}
