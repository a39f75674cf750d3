using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Clone (the request a run was made from, launched again) and experiment groups (N seeds or every fold as one
/// action, validated whole, with mean ± std), on the real app.</summary>
[Collection(AppCollection.Name)]
public sealed class ExperimentGroupTests(ExperimentGroupTests.App app) : IClassFixture<ExperimentGroupTests.App>
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

    private static async Task<Guid> LaunchAsync(HttpClient client, object request)
    {
        var response = await client.PostAsJsonAsync("/api/experiments", request);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static object Tiny(Guid datasetId, string name = "tiny", int epochs = 1) =>
        new { datasetId, name, model = "unext", epochs, batchSize = 2, imageSize = 32, learningRate = 0.01 };

    private async Task<Experiment> RowAsync(Guid id)
    {
        await using var db = await factory.Services.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync();
        return await db.Experiments.AsNoTracking().SingleAsync(e => e.Id == id);
    }

    private async Task<int> CountAsync<T>(Func<MedSegDbContext, IQueryable<T>> set)
    {
        await using var db = await factory.Services.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync();
        return await set(db).CountAsync();
    }

    [Fact]
    public void GroupMeanAndSampleStdFollowTheTextbook()
    {
        Assert.Equal(0.7, GroupStatistics.Mean([0.5, 0.7, 0.9])!.Value, 12);
        // √(((−0.2)² + 0² + 0.2²) / (3 − 1)) = 0.2 (sample, not population: that would be 0.1633).
        Assert.Equal(0.2, GroupStatistics.SampleStd([0.5, 0.7, 0.9])!.Value, 12);
        Assert.Equal(Math.Sqrt(0.5), GroupStatistics.SampleStd([1, 2])!.Value, 12);
        Assert.Null(GroupStatistics.SampleStd([0.8]));
        Assert.Null(GroupStatistics.Mean([]));
        ExperimentGroupMember Member(ExperimentStatus status, double? best) =>
            new(Guid.NewGuid(), "m", 1, null, status, new MemberMetrics(best, best, best, best));
        var (mean, std) = GroupStatistics.Summarize([Member(ExperimentStatus.Completed, 0.6), Member(ExperimentStatus.Running, 0.1),
            Member(ExperimentStatus.Completed, 0.8), Member(ExperimentStatus.Failed, 0.0)]);
        Assert.Equal(0.7, mean[GroupStatistics.BestDice]!.Value, 12);
        Assert.Equal(Math.Sqrt(0.02), std[GroupStatistics.BestDice]!.Value, 12);
        (mean, std) = GroupStatistics.Summarize([Member(ExperimentStatus.Completed, 0.6), Member(ExperimentStatus.Queued, null)]);
        Assert.Equal(0.6, mean[GroupStatistics.FinalDice]);
        Assert.Null(std[GroupStatistics.FinalDice]);
    }

    [Fact]
    public void TheGroupPanelReadsSeedsAsTyped()
    {
        Assert.Equal([1, 2, 3], MedSeg.Web.Features.Experiments.Pages.GroupLaunchPanel.ParseSeeds("1, 2,3"));
        Assert.Equal([7, 8], MedSeg.Web.Features.Experiments.Pages.GroupLaunchPanel.ParseSeeds(" 7 8 "));
        Assert.Null(MedSeg.Web.Features.Experiments.Pages.GroupLaunchPanel.ParseSeeds("1, two"));
    }

    [Fact]
    public async Task LaunchRequestFromRoundTripsEveryFieldOfTheSnapshot()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, "round trip", cases: 10);
        var split = await client.PostAsJsonAsync($"/api/datasets/{datasetId}/splits", new { kind = "kfold", folds = 3, seed = 4 });
        Assert.True(split.StatusCode == HttpStatusCode.Created, await split.Content.ReadAsStringAsync());
        var splitId = (await split.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        // Every field away from its default, so a field the mapping forgets shows up as a default.
        var sent = new LaunchRequest
        {
            DatasetId = datasetId, Model = "unetplusplus", Variant = "small", DeepSupervision = true, Name = "every field", Epochs = 40, BatchSize = 3, ImageSize = 64, LearningRate = 0.0042,
            Seed = 17, Augmentation = "strong", Optimizer = "sgd", Schedule = "cosine", Loss = "dice+focal", EarlyStoppingPatience = 7,
            Resize = "letterbox", Normalization = "ct", WindowLow = -160, WindowHigh = 240, WarmupEpochs = 3, GradientClipNorm = 12,
            TimeBudgetHours = 1.5, WeightDecay = 0.03, SplitId = splitId, Fold = 2, Device = "cpu",
        };
        var id = await LaunchAsync(client, sent);
        await client.PostAsync($"/api/experiments/{id}/cancel", null);
        var row = await RowAsync(id);
        var back = LaunchRequest.From(ExperimentConfig.Parse(row.ConfigJson), row);
        foreach (var property in typeof(LaunchRequest).GetProperties())
        {
            Assert.True(Equals(property.GetValue(sent), property.GetValue(back)),
                $"{property.Name}: launched with {property.GetValue(sent)}, rebuilt as {property.GetValue(back)}");
            // Warm-up needs the cosine schedule, the default; pretrained weights need a file in the library (WeightsApiTests).
            if (property.Name is not (nameof(LaunchRequest.Schedule) or nameof(LaunchRequest.WeightsId)))
                Assert.NotEqual(property.GetValue(new LaunchRequest()), property.GetValue(back));
        }
    }

    [Fact]
    public async Task CloneLaunchesTheSameRequestAndFollowsTheAccessRules()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(factory, admin, "Member");
        var stranger = await Accounts.CreateAsync(factory, admin, "Member");
        var viewer = await Accounts.CreateAsync(factory, admin, "Viewer");
        var sharee = await Accounts.CreateAsync(factory, admin, "Member");
        var datasetId = await DatasetAsync(owner.Client, "clone source");
        var sourceId = await LaunchAsync(owner.Client, new
        {
            datasetId, name = "to clone", model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.004, seed = 9,
            augmentation = "flips", loss = "dice", weightDecay = 0.02,
        });
        await ExperimentsApiTests.WaitForStatusAsync(owner.Client, sourceId, "Completed", TimeSpan.FromMinutes(3));

        var response = await owner.Client.PostAsync($"/api/experiments/{sourceId}/clone", null);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var cloneId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.NotEqual(sourceId, cloneId);
        var (source, clone) = (await RowAsync(sourceId), await RowAsync(cloneId));
        Assert.Equal("to clone (copy)", clone.Name);
        var (a, b) = (LaunchRequest.From(ExperimentConfig.Parse(source.ConfigJson), source), LaunchRequest.From(ExperimentConfig.Parse(clone.ConfigJson), clone));
        foreach (var property in typeof(LaunchRequest).GetProperties().Where(p => p.Name != nameof(LaunchRequest.Name)))
            Assert.True(Equals(property.GetValue(a), property.GetValue(b)), $"{property.Name}: {property.GetValue(a)} vs {property.GetValue(b)}");
        await owner.Client.PostAsync($"/api/experiments/{cloneId}/cancel", null);

        var before = await CountAsync(db => db.Experiments);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Client.PostAsync($"/api/experiments/{sourceId}/clone", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.PostAsync($"/api/experiments/{Guid.NewGuid()}/clone", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.Client.PostAsync($"/api/experiments/{sourceId}/clone", null)).StatusCode);
        // Shared the run but not its dataset: it cannot be trained again by the sharee.
        var share = await owner.Client.PostAsJsonAsync($"/api/experiments/{sourceId}/shares", new { userId = sharee.Id });
        Assert.Equal(HttpStatusCode.Created, share.StatusCode);
        var refused = await sharee.Client.PostAsync($"/api/experiments/{sourceId}/clone", null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("dataset", await refused.Content.ReadAsStringAsync());
        Assert.Equal(before, await CountAsync(db => db.Experiments));
        // With the dataset shared as well, the sharee clones it into a run of their own.
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsJsonAsync($"/api/datasets/{datasetId}/shares", new { userId = sharee.Id })).StatusCode);
        response = await sharee.Client.PostAsync($"/api/experiments/{sourceId}/clone", null);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var theirs = await RowAsync((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
        Assert.Equal(sharee.Id, theirs.OwnerId);
        await sharee.Client.PostAsync($"/api/experiments/{theirs.Id}/cancel", null);
    }

    [Fact]
    public async Task ASeedsGroupLaunchesEveryMemberAndSummarisesThem()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(factory, admin, "Member");
        var stranger = await Accounts.CreateAsync(factory, admin, "Member");
        var datasetId = await DatasetAsync(owner.Client, "group seeds");
        var response = await owner.Client.PostAsJsonAsync("/api/experiment-groups", new { @base = Tiny(datasetId, "seeded"), seeds = new[] { 1, 2, 3 } });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        var groupId = accepted.GetProperty("id").GetGuid();
        var members = accepted.GetProperty("members").EnumerateArray().Select(m => m.GetGuid()).ToList();
        Assert.Equal(3, members.Count);
        foreach (var (member, seed) in members.Zip([1, 2, 3]))
        {
            var row = await RowAsync(member);
            Assert.Equal(groupId, row.GroupId);
            Assert.Equal(seed, row.Seed);
            Assert.Equal($"seeded · seed {seed}", row.Name);
            await ExperimentsApiTests.WaitForStatusAsync(owner.Client, member, "Completed", TimeSpan.FromMinutes(3));
        }
        var group = await owner.Client.GetFromJsonAsync<JsonElement>($"/api/experiment-groups/{groupId}");
        Assert.Equal("seeds", group.GetProperty("kind").GetString());
        var best = group.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("metrics").GetProperty("bestDice").GetDouble()).ToList();
        Assert.Equal(3, best.Count);
        Assert.Equal(best.Average(), group.GetProperty("mean").GetProperty("bestDice").GetDouble(), 9);
        var m = best.Average();
        Assert.Equal(Math.Sqrt(best.Sum(x => (x - m) * (x - m)) / 2), group.GetProperty("std").GetProperty("bestDice").GetDouble(), 9);
        Assert.True(group.GetProperty("mean").GetProperty("finalIoU").ValueKind == JsonValueKind.Number);

        var list = await owner.Client.GetFromJsonAsync<JsonElement>("/api/experiment-groups");
        Assert.Contains(list.EnumerateArray(), g => g.GetProperty("id").GetGuid() == groupId && g.GetProperty("completed").GetInt32() == 3);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Client.GetAsync($"/api/experiment-groups/{groupId}")).StatusCode);
        Assert.DoesNotContain((await stranger.Client.GetFromJsonAsync<JsonElement>("/api/experiment-groups")).EnumerateArray(),
            g => g.GetProperty("id").GetGuid() == groupId);
    }

    [Fact]
    public async Task AFoldsGroupHasOneMemberPerFold()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var datasetId = await DatasetAsync(client, "group folds", cases: 9);
        var split = await client.PostAsJsonAsync($"/api/datasets/{datasetId}/splits", new { kind = "kfold", folds = 3, seed = 2 });
        var splitId = (await split.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var response = await client.PostAsJsonAsync("/api/experiment-groups",
            new { @base = new { datasetId, model = "unext", epochs = 30, batchSize = 2, imageSize = 32, learningRate = 0.01 }, splitId, folds = "all" });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var members = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("members").EnumerateArray().Select(m => m.GetGuid()).ToList();
        var rows = new List<Experiment>();
        foreach (var id in members)
        {
            await client.PostAsync($"/api/experiments/{id}/cancel", null);
            rows.Add(await RowAsync(id));
        }
        Assert.Equal([0, 1, 2], rows.Select(r => r.Fold!.Value).Order());
        Assert.All(rows, r => Assert.Equal(splitId, r.SplitId));
    }

    [Fact]
    public async Task ARefusedGroupStoresNothing()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(factory, admin, "Member");
        var viewer = await Accounts.CreateAsync(factory, admin, "Viewer");
        var datasetId = await DatasetAsync(owner.Client, "group refused");
        var (experiments, groups) = (await CountAsync(db => db.Experiments), await CountAsync(db => db.ExperimentGroups));

        // Every member refused by validation (epochs 0 and an unknown loss): the errors name the members, nothing is stored.
        var response = await owner.Client.PostAsJsonAsync("/api/experiment-groups", new
        {
            @base = new { datasetId, model = "unext", epochs = 0, batchSize = 2, imageSize = 32, learningRate = 0.01, loss = "magic" }, seeds = new[] { 1, 2 },
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Seed 1:", body);
        Assert.Contains("Seed 2:", body);
        Assert.Contains("epochs", body);

        // The quota counts the group as N jobs, up front: 3 seeds with room for 2 are refused whole.
        await using (var db = await factory.Services.GetRequiredService<IDbContextFactory<MedSegDbContext>>().CreateDbContextAsync())
        {
            await db.Users.Where(u => u.Id == owner.Id).ExecuteUpdateAsync(s => s.SetProperty(u => u.JobQuota, (int?)2));
        }
        response = await owner.Client.PostAsJsonAsync("/api/experiment-groups", new { @base = Tiny(datasetId), seeds = new[] { 1, 2, 3 } });
        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Contains("This group launches 3 runs", await response.Content.ReadAsStringAsync());

        // Group-level mistakes, and a Viewer.
        foreach (var bad in new object[]
        {
            new { @base = Tiny(datasetId), seeds = new[] { 1, 1 } },
            new { @base = Tiny(datasetId), seeds = new[] { 1, 2 }, folds = "all" },
            new { @base = Tiny(datasetId), folds = "all" },
            new { seeds = new[] { 1, 2 } },
        })
        {
            response = await owner.Client.PostAsJsonAsync("/api/experiment-groups", bad);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }
        Assert.Equal(HttpStatusCode.Forbidden,
            (await viewer.Client.PostAsJsonAsync("/api/experiment-groups", new { @base = Tiny(datasetId), seeds = new[] { 1, 2 } })).StatusCode);
        Assert.Equal(experiments, await CountAsync(db => db.Experiments));
        Assert.Equal(groups, await CountAsync(db => db.ExperimentGroups));
    }
}
