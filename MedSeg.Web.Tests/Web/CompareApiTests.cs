using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Compare;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Web;

/// <summary><c>GET /api/compare</c> on the real app over three tiny trained runs: a two-seed group (learning rate 0.01) and a
/// lone run with seed 1 and learning rate 0.004, so the lone run and seed 1 differ in one field only.</summary>
[Collection(AppCollection.Name)]
public sealed class CompareApiTests(CompareApiTests.Runs runs) : IClassFixture<CompareApiTests.Runs>
{
    public sealed class Runs : IAsyncLifetime
    {
        public MedSegAppFactory Factory { get; } = new();
        public TestUser Owner { get; private set; } = default!;
        public TestUser Stranger { get; private set; } = default!;
        public Guid GroupId { get; private set; }
        public IReadOnlyList<Guid> Members { get; private set; } = [];
        public Guid Lone { get; private set; }

        public async Task InitializeAsync()
        {
            var admin = await Factory.CreateAuthenticatedClientAsync();
            Owner = await Accounts.CreateAsync(Factory, admin, "Member");
            Stranger = await Accounts.CreateAsync(Factory, admin, "Member");
            var upload = await Owner.Client.PostAsync("/api/datasets", DatasetsApiTests.Upload("compare discs", SyntheticDataset.Zip(10, 32)));
            Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());
            var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            object Tiny(string name, double lr) => new { datasetId, name, model = "unext", epochs = 2, batchSize = 2, imageSize = 32, learningRate = lr, warmupEpochs = 0 };
            var group = await Owner.Client.PostAsJsonAsync("/api/experiment-groups", new { @base = Tiny("pair", 0.01), seeds = new[] { 1, 2 } });
            Assert.True(group.StatusCode == HttpStatusCode.Accepted, await group.Content.ReadAsStringAsync());
            var accepted = await group.Content.ReadFromJsonAsync<JsonElement>();
            GroupId = accepted.GetProperty("id").GetGuid();
            Members = [.. accepted.GetProperty("members").EnumerateArray().Select(m => m.GetGuid())];
            var lone = await Owner.Client.PostAsJsonAsync("/api/experiments", Tiny("lone", 0.004));
            Assert.True(lone.StatusCode == HttpStatusCode.Accepted, await lone.Content.ReadAsStringAsync());
            Lone = (await lone.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            foreach (var id in Members.Append(Lone))
                await ExperimentsApiTests.WaitForStatusAsync(Owner.Client, id, "Completed", TimeSpan.FromMinutes(4));
        }

        public Task DisposeAsync()
        {
            Factory.Dispose();
            return Task.CompletedTask;
        }
    }

    private async Task<JsonElement> CompareAsync(string query)
    {
        var response = await runs.Owner.Client.GetAsync($"/api/compare?{query}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    [Fact]
    public async Task TheDiffHoldsOnlyTheChangedField()
    {
        var view = await CompareAsync($"ids={runs.Lone},{runs.Members[0]}");
        Assert.Equal([runs.Lone, runs.Members[0]], view.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()));
        var diff = view.GetProperty("diff").EnumerateArray().ToList();
        Assert.True(diff.Count == 1, string.Join(", ", diff.Select(d => d.GetProperty("field").GetString())));
        Assert.Equal("learningRate", diff[0].GetProperty("field").GetString());
        Assert.Equal(["0.004", "0.01"], diff[0].GetProperty("values").EnumerateArray().Select(v => v.GetString()));

        // Curves: every stored epoch, wall time summed over the epochs.
        foreach (var curve in view.GetProperty("curves").EnumerateArray())
        {
            var detail = await runs.Owner.Client.GetFromJsonAsync<JsonElement>($"/api/experiments/{curve.GetProperty("runId").GetGuid()}");
            var stored = detail.GetProperty("metrics").EnumerateArray().ToList();
            var points = curve.GetProperty("points").EnumerateArray().ToList();
            Assert.Equal(2, points.Count);
            Assert.Equal(stored.Select(m => m.GetProperty("validationDice").GetDouble()), points.Select(p => p.GetProperty("validationDice").GetDouble()));
            Assert.Equal(stored.Select(m => m.GetProperty("learningRate").GetDouble()), points.Select(p => p.GetProperty("learningRate").GetDouble()));
            Assert.Equal(stored.Sum(m => m.GetProperty("seconds").GetDouble()), points[^1].GetProperty("wallSeconds").GetDouble(), 9);
        }
    }

    [Fact]
    public async Task AGroupExpandsToItsMembersWithMeanAndStd()
    {
        var view = await CompareAsync($"ids={runs.Lone}&groups={runs.GroupId}");
        var ids = view.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToList();
        Assert.Equal([runs.Lone, .. runs.Members], ids);
        Assert.Equal(["learningRate", "seed"], view.GetProperty("diff").EnumerateArray().Select(d => d.GetProperty("field").GetString()).Order());

        var metrics = view.GetProperty("metrics");
        var best = metrics.GetProperty("runs").EnumerateArray().Skip(1).Select(r => r.GetProperty("metrics").GetProperty("bestDice").GetDouble()).ToList();
        var group = metrics.GetProperty("groups").EnumerateArray().Single();
        Assert.Equal(runs.GroupId, group.GetProperty("groupId").GetGuid());
        Assert.Equal(2, group.GetProperty("completed").GetInt32());
        Assert.Equal(best.Average(), group.GetProperty("mean").GetProperty("bestDice").GetDouble(), 9);
        Assert.Equal(GroupStatistics.SampleStd(best)!.Value, group.GetProperty("std").GetProperty("bestDice").GetDouble(), 9);
    }

    [Fact]
    public async Task CasesCarryEachRunsDiceLargestSpreadFirst()
    {
        var view = await CompareAsync($"ids={runs.Lone}&groups={runs.GroupId}");
        var cases = view.GetProperty("cases").EnumerateArray().ToList();
        Assert.NotEmpty(cases);
        // The seeds split differently: a case a run did not validate has no Dice (nor prediction) for that run.
        var spreads = new List<double?>();
        var review = await runs.Owner.Client.GetFromJsonAsync<JsonElement>($"/api/experiments/{runs.Lone}/cases");
        foreach (var c in cases)
        {
            var results = c.GetProperty("runs").EnumerateArray().ToList();
            Assert.Equal(3, results.Count);
            var dice = results.Select(r => r.GetProperty("dice").ValueKind == JsonValueKind.Number ? r.GetProperty("dice").GetDouble() : (double?)null).ToList();
            var present = dice.OfType<double>().ToList();
            Assert.NotEmpty(present);
            spreads.Add(c.GetProperty("spread").ValueKind == JsonValueKind.Number ? c.GetProperty("spread").GetDouble() : null);
            if (present.Count >= 2) Assert.Equal(present.Max() - present.Min(), spreads[^1]!.Value, 12);
            else Assert.Null(spreads[^1]);
            foreach (var (r, d) in results.Zip(dice))
            {
                if (d is null) Assert.Equal(JsonValueKind.Null, r.GetProperty("predictionUrl").ValueKind);
                else Assert.StartsWith($"/api/experiments/{r.GetProperty("runId").GetGuid()}/files/", r.GetProperty("predictionUrl").GetString());
            }
            // The same Dice the review of that run shows for the case.
            if (dice[0] is { } lone)
                Assert.Equal(review.EnumerateArray().Single(r => r.GetProperty("caseId").GetGuid() == c.GetProperty("caseId").GetGuid()).GetProperty("dice").GetDouble(), lone);
            Assert.Equal(HttpStatusCode.OK, (await runs.Owner.Client.GetAsync(c.GetProperty("imageUrl").GetString())).StatusCode);
        }
        Assert.Contains(spreads, s => s is not null);
        Assert.Equal(spreads.OrderBy(s => s is null).ThenByDescending(s => s), spreads);
    }

    [Theory]
    [InlineData("", "ids")]
    [InlineData("ids=00000000-0000-0000-0000-000000000001", "ids")]
    [InlineData("ids=00000000-0000-0000-0000-000000000001,00000000-0000-0000-0000-000000000001", "ids")]
    [InlineData("ids=not-a-guid,00000000-0000-0000-0000-000000000001", "ids")]
    [InlineData("ids=00000000-0000-0000-0000-000000000001&groups=nope", "groups")]
    public async Task ABadListIsRefusedNamingTheField(string query, string field)
    {
        var response = await runs.Owner.Client.GetAsync($"/api/compare?{query}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
        var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), body);
        Assert.NotEmpty(messages.EnumerateArray().Single().GetString()!);
    }

    [Fact]
    public async Task MoreThanTenRunsAreRefused()
    {
        var eleven = string.Join(',', Enumerable.Range(0, 11).Select(_ => Guid.NewGuid()));
        var response = await runs.Owner.Client.GetAsync($"/api/compare?ids={eleven}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("at most 10", await response.Content.ReadAsStringAsync());
        // A group counts by its members: the two-seed group alone is two runs.
        response = await runs.Owner.Client.GetAsync($"/api/compare?groups={runs.GroupId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task RunsAndGroupsOthersCannotSeeAreNotFound()
    {
        var response = await runs.Stranger.Client.GetAsync($"/api/compare?ids={runs.Lone},{runs.Members[0]}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(runs.Lone.ToString(), await response.Content.ReadAsStringAsync());
        response = await runs.Stranger.Client.GetAsync($"/api/compare?groups={runs.GroupId}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        response = await runs.Owner.Client.GetAsync($"/api/compare?ids={runs.Lone},{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public void FlattenedSnapshotsDifferOnlyWhereTheirValuesDo()
    {
        var a = CompareService.Flatten("""{"model":"unext","modelOptions":{"variant":null,"classes":1},"weights":null,"split":{"fold":0},"dataset":{"version":1}}""");
        var b = CompareService.Flatten("""{"model":"unext","modelOptions":{"variant":"small","classes":1},"weights":{"id":"w1","name":"enc"},"split":{"fold":1},"dataset":{"version":2}}""");
        var diff = CompareService.Differences([a, b]);
        Assert.Equal(["modelOptions.variant", "split.fold", "dataset.version", "weights.id", "weights.name"], diff.Select(d => d.Field));
        Assert.Equal([null, "small"], diff[0].Values);
        Assert.Equal(["0", "1"], diff[1].Values);
        Assert.Equal([null, "w1"], diff[3].Values);
        Assert.Empty(CompareService.Differences([a, a]));
    }

    [Fact]
    public void CasesAreOrderedBySpreadThenName()
    {
        ComparedCase Case(string name, params double?[] dice) => new(Guid.NewGuid(), name, CompareService.Spread(dice), "", "",
            [.. dice.Select(d => new CaseRunResult(Guid.NewGuid(), d, null))]);
        var ordered = CompareService.Order([Case("agree", 0.8, 0.82), Case("alone", 0.1, null), Case("split", 0.9, 0.1), Case("b", 0.5, 0.7), Case("a", 0.7, 0.5)]);
        Assert.Equal(["split", "a", "b", "agree", "alone"], ordered.Select(c => c.Name));
        Assert.Equal(0.8, ordered[0].Spread!.Value, 12);
        Assert.Null(ordered[^1].Spread);
        Assert.Equal("Ids", CompareQuery.Parse("a", null).Errors.Single().Field);
    }

    [Fact]
    public void ThePageUrlNamesTheRunsAndGroups()
    {
        var (a, b, g) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        Assert.Equal($"/compare?ids={a},{b}&groups={g}", new CompareQuery([a, b], [g]).PageUrl());
        Assert.Equal($"/compare?groups={g}", new CompareQuery([], [g]).PageUrl());
        var (query, errors) = CompareQuery.Parse($" {a}, {b},{a} ,", $"{g}");
        Assert.Empty(errors);
        Assert.Equal([a, b], query.Ids);
    }
}
