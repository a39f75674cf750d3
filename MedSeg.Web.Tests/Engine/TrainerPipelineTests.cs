using System.Text.Json;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Pipeline;
using MedSeg.Engine.Inference;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;

namespace MedSeg.Web.Tests.Engine;

/// <summary>The trainer on the data pipeline: non-default augmentation and preprocessing reach run.json, and the predictor
/// prepares images exactly as the trainer's validation did.</summary>
public sealed class TrainerPipelineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task TrainerWithLightLetterboxAndDatasetZScoreRecordsThemAndThePredictorReproducesTheValidationMasks()
    {
        using var dir = new TempDir();
        // 48×32 images: letterboxing to 32 px really pads (content 32×21 at offset y = 5).
        var train = SyntheticData.CreateDataset(dir["data"], 8, 48, 32, seed: 0);
        var validation = SyntheticData.CreateDataset(dir["data"], 2, 48, 32, seed: 100);
        var plan = new TrainingPlan
        {
            Model = "unext",
            Epochs = 1,
            BatchSize = 4,
            ImageSize = 32,
            LearningRate = 3e-3,
            Seed = 5,
            Train = train,
            Validation = validation,
            PreviewCases = [.. validation.Select(c => c.Name)],
            RunDirectory = dir["run"],
            Device = "cpu",
            Threads = 2,
            Augmentation = AugmentationOptions.Parse("light"),
            Preprocessing = new PreprocessingOptions(ResizePolicy.Letterbox, new IntensityNormalization(NormalizationMode.DatasetZScore)),
            LoaderWorkers = 2,
        };
        var result = await new Trainer().RunAsync(plan, NullTrainingObserver.Instance, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(1, result.EpochsCompleted);

        // run.json holds the recipe's augmentation and the resolved statistics (those of the training cases' fingerprint).
        var manifest = RunManifest.Read(plan.RunDirectory);
        Assert.Equal("light", manifest.Recipe!.Augmentation!.Name);
        var recorded = manifest.PreprocessingOptions;
        Assert.Equal(ResizePolicy.Letterbox, recorded.Resize);
        var expected = DatasetFingerprint.Compute(train, channels: 3).DatasetZScore();
        Assert.Equal(NormalizationMode.DatasetZScore, recorded.EffectiveNormalization.Mode);
        Assert.Equal(expected.Mean!, recorded.EffectiveNormalization.Mean!);
        Assert.Equal(expected.Std!, recorded.EffectiveNormalization.Std!);
        Assert.Equal("zscore-dataset-per-channel", manifest.Normalization.Method);
        Assert.Contains("letterbox", manifest.Normalization.ImageResize, StringComparison.Ordinal);

        // The predictor (exact path: no BatchNorm folding) gives the masks the trainer wrote as epoch-1 previews.
        using var predictor = Predictor.Load(plan.RunDirectory, "cpu", InferenceOptions.Default with { FastPath = false, WarmUp = false });
        Assert.Equal(JsonSerializer.Serialize(recorded), JsonSerializer.Serialize(predictor.Preprocessing)); // lists compare by reference
        Assert.Equal(expected.Mean!, predictor.Preprocessing.EffectiveNormalization.Mean!);
        // One batch of both cases, as the trainer's validation batch.
        var predictions = predictor.PredictMany([.. validation.Select(c => c.ImagePath)]);
        foreach (var (c, predicted) in validation.Zip(predictions))
        {
            var preview = MaskReader.Read(Path.Combine(plan.RunDirectory, "previews", "epoch-001", c.Name + ".png"));
            Assert.Equal((48, 32), (predicted.Width, predicted.Height));
            Assert.Equal(preview.Pixels, predicted.Pixels);
        }
    }

    [Fact]
    public void TrainerRunJsonWithoutPreprocessingMeansTheDefaultPipeline()
    {
        // run.json files written before the recipe recorded preprocessing (or any recipe) keep predicting as before.
        var old = new RunManifest("unext", new ModelOptions(), 32, 0.5, Preprocessing.Normalization, "bce+dice", "adamw", 1e-3,
            "cosine", 1, 4, 1, DateTimeOffset.UtcNow);
        Assert.True(old.PreprocessingOptions.IsDefault);
        var json = JsonSerializer.Serialize(old);
        Assert.True(JsonSerializer.Deserialize<RunManifest>(json)!.PreprocessingOptions.IsDefault);
        var plan = new TrainingPlan
        {
            Model = "unext", Epochs = 1, BatchSize = 2, ImageSize = 32, LearningRate = 1e-3, Train = [], Validation = [], RunDirectory = ".",
        };
        Assert.Equal(("flips", true, 2, 3), (plan.Augmentation.Name, plan.Preprocessing.IsDefault, plan.LoaderWorkers, plan.LoaderPrefetch));
    }
}
