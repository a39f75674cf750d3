using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>The REST API and the training job together, on the real app (SQLite, Hangfire, the engine on CPU).</summary>
[Collection(AppCollection.Name)]
public sealed class ExperimentsApiTests : IClassFixture<ExperimentsApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public ExperimentsApiTests(App app) => factory = app.Factory;

    private async Task<(HttpClient Client, Guid DatasetId)> DatasetAsync(int cases = 10)
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(cases, 48)));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (client, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    internal static async Task<JsonElement> WaitForStatusAsync(HttpClient client, Guid id, string status, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        JsonElement experiment;
        do
        {
            experiment = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");
            var current = experiment.GetProperty("summary").GetProperty("status").ToString();
            if (current == status || current is "Failed" && status != "Failed") break;
            await Task.Delay(250);
        }
        while (DateTime.UtcNow < until);
        var error = experiment.GetProperty("error").ToString();
        Assert.True(status == experiment.GetProperty("summary").GetProperty("status").ToString(),
            $"Expected {status}, got {experiment.GetProperty("summary").GetProperty("status")}: {error}");
        return experiment;
    }

    [Fact]
    public async Task LaunchReportsEveryInvalidField()
    {
        var (client, datasetId) = await DatasetAsync(4);
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "resnet9000", epochs = 0, batchSize = 8, imageSize = 100, learningRate = 0.001 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        Assert.Contains("unext", errors.GetProperty("model")[0].GetString());
        Assert.True(errors.TryGetProperty("epochs", out _));

        response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 100, learningRate = 0.001 });
        problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("96", problem.GetProperty("errors").GetProperty("imageSize")[0].GetString());
    }

    [Fact]
    public async Task LaunchRefusesUnknownAugmentationLossOptimizerScheduleAndPatienceWithTheValidValues()
    {
        var (client, datasetId) = await DatasetAsync(4);
        var response = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 3, batchSize = 2, imageSize = 32, learningRate = 0.001,
            augmentation = "wild", loss = "dice+magic", optimizer = "adam", schedule = "step", earlyStoppingPatience = 5,
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        var augmentation = errors.GetProperty("augmentation")[0].GetString()!;
        Assert.Contains("wild", augmentation);
        Assert.All(new[] { "none", "flips", "light", "strong" }, name => Assert.Contains(name, augmentation));
        var loss = errors.GetProperty("loss")[0].GetString()!;
        Assert.Contains("dice+magic", loss);
        Assert.All(new[] { "bce", "dice", "focal", "tversky" }, name => Assert.Contains(name, loss));
        Assert.Contains("sgd", errors.GetProperty("optimizer")[0].GetString());
        Assert.Contains("poly", errors.GetProperty("schedule")[0].GetString());
        Assert.Contains("0 for off", errors.GetProperty("earlyStoppingPatience")[0].GetString());
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            Assert.False(await db.Experiments.AnyAsync(e => e.DatasetId == datasetId));
        }
    }

    [Fact]
    public void LaunchOptionsSnapshotRoundTripsAndOldConfigJsonKeepsTheOldRecipe()
    {
        var config = new ExperimentConfig
        {
            Model = "unext", Epochs = 3, BatchSize = 2, ImageSize = 64, LearningRate = 1e-3, Seed = 4,
            Augmentation = "strong", Optimizer = "sgd", Schedule = "poly", Loss = "dice+focal", EarlyStoppingPatience = 2,
        };
        var back = ExperimentConfig.Parse(config.Serialize());
        Assert.Equal(config with { Split = null, Dataset = null }, back with { Split = null, Dataset = null });
        var plan = back.ApplyTo(new MedSeg.Engine.Training.TrainingPlan
        {
            Model = "unext", Epochs = 3, BatchSize = 2, ImageSize = 64, LearningRate = 1e-3, Train = [], Validation = [], RunDirectory = ".",
        });
        Assert.Equal(("strong", "sgd", "poly", "dice+focal", (int?)2), (plan.Augmentation.Name, plan.Optimizer, plan.Schedule, plan.Loss, plan.EarlyStoppingPatience));

        // ConfigJson as written before the options existed: the recipe those experiments trained with (flips, no early stop).
        const string old = """{"model":"unext","modelOptions":{"InChannels":3,"Classes":1,"Variant":null},"Epochs":2,"BatchSize":4,"ImageSize":32,"LearningRate":0.001,"Seed":1,"loss":"bce+dice","optimizer":"adamw","schedule":"cosine","split":{"validationFraction":0.2,"rule":"shuffle(sorted names, seed)"},"dataset":{"Id":"7f1c2a34-0000-0000-0000-000000000001","Name":"discs","ContentHash":"abc","CaseCount":4}}""";
        var parsed = ExperimentConfig.Parse(old);
        Assert.Equal(("flips", "adamw", "cosine", "bce+dice", 0, 2, 32), (parsed.Augmentation, parsed.Optimizer, parsed.Schedule, parsed.Loss,
            parsed.EarlyStoppingPatience, parsed.Epochs, parsed.ImageSize));
        Assert.Equal("discs", parsed.Dataset!.Name);
        Assert.Equal("light", new LaunchRequest().Augmentation);
    }

    [Fact]
    public async Task LaunchedExperimentTrainsStoresMetricsAndScoresEveryValidationCase()
    {
        var (client, datasetId) = await DatasetAsync(10);
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 2, batchSize = 4, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var experiment = await WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));
        var metrics = experiment.GetProperty("metrics");
        Assert.Equal(2, metrics.GetArrayLength());
        Assert.Equal(1, metrics[0].GetProperty("epoch").GetInt32());
        Assert.True(metrics[1].GetProperty("trainLoss").GetDouble() > 0);
        Assert.Equal(8, experiment.GetProperty("trainCases").GetInt32());
        Assert.Equal(2, experiment.GetProperty("validationCases").GetInt32());
        Assert.Equal(2, experiment.GetProperty("previews").GetArrayLength());

        var cases = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/cases");
        Assert.Equal(2, cases.GetArrayLength());
        var dices = cases.EnumerateArray().Select(c => c.GetProperty("dice").GetDouble()).ToList();
        Assert.Equal(dices.Order().ToList(), dices);
        Assert.All(dices, d => Assert.InRange(d, 0, 1));
        var prediction = await client.GetAsync(cases[0].GetProperty("predictionUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, prediction.StatusCode);
        var comparison = await client.GetAsync(cases[0].GetProperty("comparisonUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, comparison.StatusCode);
        var preview = await client.GetAsync(experiment.GetProperty("previews")[0].GetProperty("predictionUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);

        var runDir = Path.Combine(factory.DataRoot, "experiments", id.ToString("N"));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(runDir, "checkpoints")));
    }

    [Fact]
    public async Task AnotherUserCannotSeeTheExperiment()
    {
        var (client, datasetId) = await DatasetAsync(4);
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.001 });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var created = await users.CreateAsync(new ApplicationUser { UserName = "bob@medseg.test", Email = "bob@medseg.test" }, "Bob-Pass-1");
            Assert.True(created.Succeeded);
        }
        var bob = await factory.CreateAuthenticatedClientAsync("bob@medseg.test", "Bob-Pass-1");
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/experiments/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/datasets/{datasetId}")).StatusCode);
        var launch = await bob.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.001 });
        Assert.Equal(HttpStatusCode.BadRequest, launch.StatusCode);
        await WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task RunWhoseProcessDiedIsResumedByRecovery()
    {
        var (client, datasetId) = await DatasetAsync(6);
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.001 });
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(2));

        // Pretend a dead process held the run mid-way: status Running, stale heartbeat, a foreign runner.
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var stale = DateTimeOffset.UtcNow.AddMinutes(-10);
            await db.Experiments.Where(e => e.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(e => e.Status, ExperimentStatus.Running)
                .SetProperty(e => e.Epochs, 2)
                .SetProperty(e => e.RunnerId, "elsewhere:1:dead")
                .SetProperty(e => e.HeartbeatAt, stale));
            var recovery = factory.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<ExperimentRecoveryService>().Single();
            Assert.Equal(1, await recovery.RecoverAsync(CancellationToken.None));
        }
        var experiment = await WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(2));
        // Epoch 1 came from the checkpoint; only epoch 2 was trained after the resume.
        Assert.Equal(2, experiment.GetProperty("metrics").GetArrayLength());
    }
}
