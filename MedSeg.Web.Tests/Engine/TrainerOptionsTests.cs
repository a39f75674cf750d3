using MedSeg.Engine.Data.Pipeline;
using MedSeg.Data.Entities;
using MedSeg.Engine.Training;
using MedSeg.Web.Features.Experiments;

namespace MedSeg.Web.Tests.Engine;

/// <summary>32×32 cases: 8 training, 2 validation; small enough for several short runs.</summary>
public sealed class SmallDataset : IDisposable
{
    public TempDir Dir { get; } = new();
    public List<TrainingCase> Train { get; }
    public List<TrainingCase> Validation { get; }

    public SmallDataset()
    {
        Train = SyntheticData.CreateDataset(Dir["data"], 8, 32, 32, seed: 0);
        Validation = SyntheticData.CreateDataset(Dir["data"], 2, 32, 32, seed: 100);
    }

    public TrainingPlan Plan(string run, int epochs = 2) => new()
    {
        Model = "unext",
        Epochs = epochs,
        BatchSize = 4,
        ImageSize = 32,
        LearningRate = 3e-3,
        Seed = 11,
        Train = Train,
        Validation = Validation,
        RunDirectory = Dir[run],
        Device = "cpu",
        Threads = 2,
    };

    public void Dispose() => Dir.Dispose();
}

public sealed class TrainerOptionsTests(SmallDataset data) : IClassFixture<SmallDataset>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    [Fact]
    public void TrainerPlanDefaultsAreTodaysRecipe()
    {
        var plan = data.Plan("unused");
        Assert.Equal(("adamw", 1e-4, "cosine", 0, null, "bce+dice"), (plan.Optimizer, plan.WeightDecay, plan.Schedule, plan.WarmupEpochs, plan.GradientClipNorm, plan.Loss));
        Assert.Equal((null, 0.0, null, "fp32"), (plan.EarlyStoppingPatience, plan.MinDelta, plan.TimeBudget, plan.Precision));
        // The default cosine schedule is the one the trainer always had: lr at epoch 1, towards 0.01 × lr.
        Assert.Equal(1e-3, Schedules.LearningRate("cosine", 1e-3, 1, 10), 12);
        Assert.Equal(1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + Math.Cos(Math.PI * 4 / 10)), Schedules.LearningRate("cosine", 1e-3, 5, 10), 12);
    }

    [Fact]
    public void TrainerSchedulesFollowCosineWithWarmupPolyAndConstant()
    {
        // Warm-up 2 of 6 epochs: lr/3, 2lr/3, then cosine from lr over the 4 remaining epochs.
        Assert.Equal(1.0 / 3, Schedules.LearningRate("cosine", 1, 1, 6, 2), 12);
        Assert.Equal(2.0 / 3, Schedules.LearningRate("cosine", 1, 2, 6, 2), 12);
        Assert.Equal(1.0, Schedules.LearningRate("cosine", 1, 3, 6, 2), 12);
        Assert.Equal(0.01 + 0.99 * 0.5, Schedules.LearningRate("cosine", 1, 5, 6, 2), 9);
        // nnU-Net poly: (1 − (e − 1)/epochs)^0.9.
        Assert.Equal(1.0, Schedules.LearningRate("poly", 1, 1, 10));
        Assert.Equal(Math.Pow(0.5, 0.9), Schedules.LearningRate("POLY", 1, 6, 10), 12);
        Assert.Equal(2e-3, Schedules.LearningRate("constant", 2e-3, 7, 10));
        Assert.Contains("cosine, poly, constant", Assert.Throws<ArgumentException>(() => Schedules.LearningRate("step", 1, 1, 1)).Message);
    }

    [Fact]
    public void TrainerEarlyStoppingCountsEpochsWithoutGainAboveMinDelta()
    {
        var stopping = new EarlyStopping(patience: 2, minDelta: 0.01);
        Assert.False(stopping.Update(0.50));
        Assert.False(stopping.Update(0.505)); // below min delta: 1
        Assert.False(stopping.Update(0.52)); // gain: reset
        Assert.False(stopping.Update(0.52));
        Assert.True(stopping.Update(0.525));
        Assert.Equal((0.52, 2), (stopping.Best, stopping.EpochsWithoutImprovement));
    }

    [Fact]
    public void TrainerDatasetSplitIsTheWebRule()
    {
        var names = Enumerable.Range(0, 23).Select(i => $"benign ({i})").ToList();
        foreach (var seed in new[] { 1, 7, 42 })
        {
            var cases = names.Select(n => new DatasetCase { Name = n, ImagePath = n, MaskPath = n, ImageSha256 = "", MaskSha256 = "" }).ToList();
            var (webTrain, webValidation) = ExperimentService.Split(cases, seed);
            var (train, validation) = DatasetSplit.Split(names, seed, ExperimentService.ValidationFraction);
            Assert.Equal(webTrain.Select(c => c.Name), train);
            Assert.Equal(webValidation.Select(c => c.Name), validation);
        }
        Assert.Equal(5, DatasetSplit.Split(names, 1).Validation.Count);
        Assert.Single(DatasetSplit.Split(["a", "b"], 1, 0.01).Validation);
    }

    [Fact]
    public void TrainerSeedsArePureFunctionsOfTheirParts()
    {
        // Fixed values: HashCode.Combine would differ from one process to the next and break resuming in a new process.
        // The shuffle and the augmentation draw from PipelineRandom (the one rule); torch from Seeds.Torch.
        Assert.Equal(PipelineRandom.Seed(1, 2, 3), PipelineRandom.Seed(1, 2, 3));
        Assert.Equal(PipelineRandom.Seed(7, 2, PipelineRandom.ShuffleIndex), PipelineRandom.Seed(7, 2, -1));
        Assert.NotEqual(PipelineRandom.Seed(7, 2, 0), PipelineRandom.Seed(2, 7, 0));
        Assert.Equal(7002L, Seeds.Torch(7, 2));
    }

    [Fact]
    public async Task TrainerStopsEarlyRecordsTheRecipeAndDoesNotResumeAnEarlyStoppedRun()
    {
        var plan = data.Plan("run-early", epochs: 4) with
        {
            Optimizer = "sgd", Schedule = "poly", GradientClipNorm = 12, Loss = "dice+bce", WeightDecay = 3e-5,
            EarlyStoppingPatience = 1, MinDelta = 1.0, // no Dice gain can exceed 1: stops after epoch 2
        };
        var observer = new RecordingObserver();
        var result = await new Trainer().RunAsync(plan, observer, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal((StopReason.EarlyStopped, 2), (result.StopReason, result.EpochsCompleted));
        Assert.Equal([1, 2], observer.Epochs.Select(e => e.Epoch));
        Assert.Contains(observer.Logs, l => l.StartsWith("Early stopping at epoch 2", StringComparison.Ordinal));
        Assert.Equal(Math.Pow(0.75, 0.9) * plan.LearningRate, observer.Epochs.Last().LearningRate, 12);
        var state = Checkpoints.ReadState(plan.RunDirectory, "last")!;
        Assert.Equal((StopReason.EarlyStopped, 1), (state.StopReason, state.EpochsWithoutImprovement));
        Assert.Equal(observer.Epochs.Last().LearningRate, state.LearningRate);
        var recipe = RunManifest.Read(plan.RunDirectory).Recipe!;
        Assert.Equal(("sgd", 3e-5, "poly", 12.0, "dice+bce", 1, 1.0), (recipe.Optimizer, recipe.WeightDecay, recipe.Schedule, recipe.GradientClipNorm, recipe.Loss, recipe.EarlyStoppingPatience, recipe.MinDelta));
        Assert.Contains("SGD (momentum 0.99, Nesterov", RunManifest.Read(plan.RunDirectory).Optimizer);

        var again = new RecordingObserver();
        var second = await new Trainer().RunAsync(plan, again, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal((StopReason.EarlyStopped, 2), (second.StopReason, second.EpochsCompleted));
        Assert.Empty(again.Batches);
    }

    [Fact]
    public async Task TrainerStopsAfterTheEpochThatExceedsTheTimeBudgetAndGoesOnWhenRunAgain()
    {
        var plan = data.Plan("run-budget", epochs: 3) with { TimeBudget = TimeSpan.FromTicks(1) };
        var observer = new RecordingObserver();
        var result = await new Trainer().RunAsync(plan, observer, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal((StopReason.TimeBudget, 1), (result.StopReason, result.EpochsCompleted));
        Assert.Contains(observer.Logs, l => l.Contains("Time budget", StringComparison.Ordinal) && l.Contains("exceeded after epoch 1", StringComparison.Ordinal));

        var next = await new Trainer().RunAsync(plan with { TimeBudget = null }, new RecordingObserver(), CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal((StopReason.Completed, 3), (next.StopReason, next.EpochsCompleted));
    }

    [Fact]
    public async Task TrainerRefusesBf16OnCpuAndBadOptionsWithClearMessages()
    {
        async Task<string> Refused(TrainingPlan plan) =>
            (await Assert.ThrowsAsync<ArgumentException>(() => new Trainer().RunAsync(plan, new RecordingObserver(), CancellationToken.None).WaitAsync(Timeout))).Message;

        Assert.Contains("CUDA", await Refused(data.Plan("run-bad") with { Precision = "bf16" }));
        Assert.Contains("adamw, sgd", await Refused(data.Plan("run-bad") with { Optimizer = "adam" }));
        Assert.Contains("Valid names", await Refused(data.Plan("run-bad") with { Loss = "dice+nope" }));
        Assert.Contains("WarmupEpochs", await Refused(data.Plan("run-bad") with { WarmupEpochs = 2 }));
        Assert.Contains("EarlyStoppingPatience", await Refused(data.Plan("run-bad") with { EarlyStoppingPatience = 0 }));
    }
}
