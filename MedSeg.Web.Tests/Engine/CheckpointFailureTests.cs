using MedSeg.Engine.Training;

namespace MedSeg.Web.Tests.Engine;

/// <summary>A checkpoint that cannot be written (full or read-only data folder) stops the run with a message that says the
/// previous checkpoint is still valid, and it is: whole, loadable, and resumable.</summary>
[Collection(ResumeCollection.Name)]
public sealed class CheckpointFailureTests(SmallDataset data) : IClassFixture<SmallDataset>
{
    [Fact]
    public async Task FailedCheckpointWriteLeavesThePreviousCheckpointValidAndSaysSo()
    {
        var plan = data.Plan("checkpoint-fail", epochs: 3);
        // After epoch 1 is committed, a directory stands where epoch 2's temporary weights file goes: the write fails
        // even for root (as a full disk or a read-only mount would), without needing either.
        var blocker = Checkpoints.Weights(plan.RunDirectory, "last") + ".tmp";
        var observer = new BlockingObserver(e => { if (e.Epoch == 1) Directory.CreateDirectory(blocker); });

        var failure = await Assert.ThrowsAsync<TrainingFailedException>(() => new Trainer().RunAsync(plan, observer, CancellationToken.None));

        Assert.Equal(TrainingFailureKind.Checkpoint, failure.Kind);
        Assert.Contains("The checkpoint of epoch 2 could not be written", failure.Message);
        Assert.Contains("previous checkpoint (epoch 1) is still valid", failure.Message);
        Assert.Equal(1, Checkpoints.ReadCommittedState(plan.RunDirectory, "last")!.Epoch);

        Directory.Delete(blocker);
        Assert.Equal(1, Checkpoints.ReadState(plan.RunDirectory, "last")!.Epoch);
        var resumed = new RecordingObserver();
        var result = await new Trainer().RunAsync(plan, resumed, CancellationToken.None);
        Assert.Equal(2, Assert.Single(resumed.Started).StartEpoch);
        Assert.Equal(3, result.EpochsCompleted);
    }

    private sealed class BlockingObserver(Action<EpochSummary> onEpoch) : ITrainingObserver
    {
        public void OnStarted(TrainingStarted e) { }
        public void OnBatch(BatchProgress e) { }
        public void OnEpoch(EpochSummary e) => onEpoch(e);
        public void OnPreview(PreviewWritten e) { }
        public void OnLog(string message) { }
    }
}
