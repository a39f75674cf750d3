using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Engine.Data.Pipeline;
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
    public async Task LaunchRefusesInvalidTrainingOptionsNamingTheFieldAndTheValidValues()
    {
        var (client, datasetId) = await DatasetAsync(4);
        var response = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 3, batchSize = 2, imageSize = 32, learningRate = 0.001,
            augmentation = "wild", loss = "dice+magic", optimizer = "adam", schedule = "step", earlyStoppingPatience = 5,
            resize = "crop", normalization = "minmax", gradientClipNorm = -1.0, timeBudgetHours = -0.5, weightDecay = -1e-4,
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
        var resize = errors.GetProperty("resize")[0].GetString()!;
        Assert.All(new[] { "crop", "stretch", "letterbox" }, name => Assert.Contains(name, resize));
        var normalization = errors.GetProperty("normalization")[0].GetString()!;
        Assert.All(new[] { "minmax", "per-image", "dataset", "ct" }, name => Assert.Contains(name, normalization));
        Assert.Contains("0 (off)", errors.GetProperty("gradientClipNorm")[0].GetString());
        Assert.Contains("0 (none)", errors.GetProperty("timeBudgetHours")[0].GetString());
        Assert.Contains("between 0 and 1", errors.GetProperty("weightDecay")[0].GetString());

        // Warm-up must leave a cosine epoch, and is refused with the schedules that ignore it.
        response = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 3, batchSize = 2, imageSize = 32, learningRate = 0.001, warmupEpochs = 3,
        });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("below the number of epochs (3)", errors.GetProperty("warmupEpochs")[0].GetString());
        response = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 3, batchSize = 2, imageSize = 32, learningRate = 0.001, warmupEpochs = 1, schedule = "poly",
        });
        errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Contains("cosine", errors.GetProperty("warmupEpochs")[0].GetString());
        Assert.Equal(["warmupEpochs"], errors.EnumerateObject().Select(p => p.Name));

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
            Augmentation = "strong", Optimizer = "sgd", Schedule = "cosine", Loss = "dice+focal", EarlyStoppingPatience = 2,
            Resize = "letterbox", Normalization = "ct", WarmupEpochs = 1, GradientClipNorm = 12, TimeBudgetHours = 1.5, WeightDecay = 3e-5,
        };
        var back = ExperimentConfig.Parse(config.Serialize());
        Assert.Equal(config with { Split = null, Dataset = null }, back with { Split = null, Dataset = null });
        var plan = back.ToPlan([], [], ".");
        Assert.Equal(("strong", "sgd", "cosine", "dice+focal", (int?)2), (plan.Augmentation.Name, plan.Optimizer, plan.Schedule, plan.Loss, plan.EarlyStoppingPatience));
        Assert.Equal((1, (double?)12, TimeSpan.FromMinutes(90), 3e-5), (plan.WarmupEpochs, plan.GradientClipNorm, plan.TimeBudget, plan.WeightDecay));
        Assert.Equal((ResizePolicy.Letterbox, NormalizationMode.CtWindow), (plan.Preprocessing.Resize, plan.Preprocessing.EffectiveNormalization.Mode));
        Assert.Null(plan.Preprocessing.EffectiveNormalization.Low); // resolved by the trainer from the training cases

        // ConfigJson as written before the options existed: the recipe those experiments trained with (flips, no early stop).
        const string old = """{"model":"unext","modelOptions":{"InChannels":3,"Classes":1,"Variant":null},"Epochs":2,"BatchSize":4,"ImageSize":32,"LearningRate":0.001,"Seed":1,"loss":"bce+dice","optimizer":"adamw","schedule":"cosine","split":{"validationFraction":0.2,"rule":"shuffle(sorted names, seed)"},"dataset":{"Id":"7f1c2a34-0000-0000-0000-000000000001","Name":"discs","ContentHash":"abc","CaseCount":4}}""";
        var parsed = ExperimentConfig.Parse(old);
        Assert.Equal(("flips", "adamw", "cosine", "bce+dice", 0, 2, 32), (parsed.Augmentation, parsed.Optimizer, parsed.Schedule, parsed.Loss,
            parsed.EarlyStoppingPatience, parsed.Epochs, parsed.ImageSize));
        Assert.Equal(("stretch", "per-image", 0, 0.0, 0.0, 1e-4), (parsed.Resize, parsed.Normalization, parsed.WarmupEpochs,
            parsed.GradientClipNorm, parsed.TimeBudgetHours, parsed.WeightDecay));
        var oldPlan = parsed.ToPlan([], [], ".");
        Assert.Equal((0, (double?)null, (TimeSpan?)null, 1e-4, true), (oldPlan.WarmupEpochs, oldPlan.GradientClipNorm, oldPlan.TimeBudget,
            oldPlan.WeightDecay, oldPlan.Preprocessing.IsDefault));
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
    public async Task LaunchStoresTheNewTrainingOptionsAndARunStoppedByItsTimeBudgetCompletesWithANote()
    {
        var (client, datasetId) = await DatasetAsync(6);
        var response = await client.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, model = "unext", epochs = 3, batchSize = 2, imageSize = 32, learningRate = 0.001,
            resize = "Letterbox", normalization = "dataset", warmupEpochs = 1, gradientClipNorm = 12.0, timeBudgetHours = 1e-7, weightDecay = 0.01,
        });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // The budget (0.36 ms) runs out during epoch 1 of 3: the run completes, its best checkpoint evaluated, with a note.
        var experiment = await WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(2));
        var config = experiment.GetProperty("config");
        Assert.Equal(("letterbox", "dataset", 1, 12.0, 1e-7, 0.01), (config.GetProperty("resize").GetString(), config.GetProperty("normalization").GetString(),
            config.GetProperty("warmupEpochs").GetInt32(), config.GetProperty("gradientClipNorm").GetDouble(),
            config.GetProperty("timeBudgetHours").GetDouble(), config.GetProperty("weightDecay").GetDouble()));
        Assert.Equal(1, experiment.GetProperty("metrics").GetArrayLength());
        Assert.Contains("time budget", experiment.GetProperty("note").GetString());
        Assert.Contains("after epoch 1 of 3", experiment.GetProperty("note").GetString());
        Assert.Equal(JsonValueKind.Null, experiment.GetProperty("error").ValueKind);
        Assert.Single((await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/cases")).EnumerateArray()); // 6 cases: 1 validates

        // The job gave the engine every option (run.json records the plan; the dataset statistics were resolved).
        var recipe = MedSeg.Engine.Training.RunManifest.Read(Path.Combine(factory.DataRoot, "experiments", id.ToString("N"))).Recipe!;
        Assert.Equal((0.01, 1, (double?)12), (recipe.WeightDecay, recipe.WarmupEpochs, recipe.GradientClipNorm));
        Assert.Equal(TimeSpan.FromHours(1e-7), recipe.TimeBudget);
        Assert.Equal((ResizePolicy.Letterbox, NormalizationMode.DatasetZScore), (recipe.Preprocessing!.Resize, recipe.Preprocessing.EffectiveNormalization.Mode));
        Assert.NotNull(recipe.Preprocessing.EffectiveNormalization.Mean);

        // The budget counts over the whole experiment: a run picked up again after a crash finds it spent and trains no further.
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            await db.Experiments.Where(e => e.Id == id).ExecuteUpdateAsync(u => u
                .SetProperty(e => e.Status, ExperimentStatus.Running)
                .SetProperty(e => e.RunnerId, "elsewhere:1:dead")
                .SetProperty(e => e.HeartbeatAt, DateTimeOffset.UtcNow.AddMinutes(-10)));
            var recovery = factory.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<ExperimentRecoveryService>().Single();
            Assert.Equal(1, await recovery.RecoverAsync(CancellationToken.None));
        }
        experiment = await WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(2));
        Assert.Equal(1, experiment.GetProperty("metrics").GetArrayLength());
        Assert.Contains("after epoch 1 of 3", experiment.GetProperty("note").GetString());
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
            // Two epochs in the snapshot (the plan) and in its read-model column.
            var json = await db.Experiments.Where(e => e.Id == id).Select(e => e.ConfigJson).SingleAsync();
            var twoEpochs = (ExperimentConfig.Parse(json) with { Epochs = 2 }).Serialize();
            await db.Experiments.Where(e => e.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(e => e.Status, ExperimentStatus.Running)
                .SetProperty(e => e.Epochs, 2)
                .SetProperty(e => e.ConfigJson, twoEpochs)
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
