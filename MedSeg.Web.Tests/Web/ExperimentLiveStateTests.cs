using MedSeg.Data.Entities;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using ExperimentConfig = MedSeg.Web.Features.Experiments.ExperimentConfig;

namespace MedSeg.Web.Tests.Web;

public class ExperimentLiveStateTests
{
    private static readonly Guid Id = Guid.NewGuid();

    private static EpochPoint Point(int epoch, double dice) => new(epoch, 1.0 / epoch, 1.1 / epoch, dice, dice * 0.8, 1e-3, 10);

    private static PreviewImage Preview(int epoch) => new(Guid.Empty, "case", epoch, "/i", "/t", $"/p?epoch={epoch}");

    private static ExperimentDetail Detail(ExperimentStatus status, int currentEpoch, EpochPoint[] metrics, PreviewImage[] previews, string? error = null,
        string? note = null) =>
        new(new ExperimentSummary(Id, "run", "unext", Guid.NewGuid(), "Kvasir", status, currentEpoch, 10, metrics.Length == 0 ? null : metrics.Max(m => m.ValidationDice), DateTimeOffset.UtcNow),
            8, 256, 1e-3, 1, 80, 20, error, DateTimeOffset.UtcNow, null, metrics, previews, new ExperimentConfig(),
            status == ExperimentStatus.Completed ? note : null);

    [Fact]
    public void LiveEpochsAndAReloadOverlappingThemAreMergedByEpochNumber()
    {
        var state = new ExperimentLiveState();
        state.Load(Detail(ExperimentStatus.Running, 1, [Point(1, 0.3)], [Preview(1)]));

        state.Apply(new EpochCompletedMessage(Id, Point(2, 0.5), IsBest: true));
        state.Apply(new PreviewsUpdatedMessage(Id, 2, [Preview(2)]));
        state.Load(Detail(ExperimentStatus.Running, 2, [Point(1, 0.3), Point(2, 0.5)], [Preview(1)])); // a reload that lags behind
        state.Apply(new EpochCompletedMessage(Id, Point(3, 0.4), IsBest: false));

        Assert.Equal([1, 2, 3], state.Metrics.Select(m => m.Epoch));
        Assert.Equal(3, state.CurrentEpoch);
        Assert.Equal(0.5, state.BestDice);
        Assert.Equal("/p?epoch=2", Assert.Single(state.Previews).PredictionUrl);
    }

    [Fact]
    public void BatchProgressMarksAQueuedRunAsRunningAndStatusChangesDecideTheButtons()
    {
        var state = new ExperimentLiveState();
        state.Load(Detail(ExperimentStatus.Queued, 0, [], []));
        Assert.True(state.CanCancel);

        state.Apply(new BatchProgressMessage(Id, 1, 10, 3, 40, 0.7));
        Assert.Equal(ExperimentStatus.Running, state.Status);
        Assert.Equal(3, state.Batch!.Batch);

        state.Apply(new StatusChangedMessage(Id, ExperimentStatus.Failed, "CUDA out of memory"));
        Assert.Null(state.Batch);
        Assert.False(state.CanCancel);
        Assert.True(state.CanResume);
        Assert.Equal("CUDA out of memory", state.Error);

        state.Load(Detail(ExperimentStatus.Failed, 0, [], [], error: "Out of memory at batch 4 (batch size 8, 256 px)."));
        Assert.Equal("Out of memory at batch 4 (batch size 8, 256 px).", state.Error);
    }

    [Fact]
    public void LateBatchFromAFinishedEpochIsIgnored()
    {
        var state = new ExperimentLiveState();
        state.Load(Detail(ExperimentStatus.Running, 2, [Point(1, 0.2), Point(2, 0.3)], []));
        state.Apply(new BatchProgressMessage(Id, 1, 10, 40, 40, 0.5));
        Assert.Null(state.Batch);
    }

    [Fact]
    public void OnlyACompletedRunCanBeReviewed()
    {
        var state = new ExperimentLiveState();
        state.Load(Detail(ExperimentStatus.Completed, 10, [Point(1, 0.2)], []));
        Assert.True(state.CanReview);
        Assert.False(state.CanCancel);
        Assert.False(state.CanResume);
        Assert.Null(state.Error);
        Assert.Null(state.Note);
    }

    [Fact]
    public void ACompletedRunThatStoppedAtItsTimeBudgetShowsTheNoteAndCannotBeResumed()
    {
        var state = new ExperimentLiveState();
        state.Load(Detail(ExperimentStatus.Running, 3, [Point(1, 0.2)], []));
        state.Apply(new StatusChangedMessage(Id, ExperimentStatus.Completed, "Training stopped at the time budget of 2 h after epoch 3 of 10; …"));
        Assert.StartsWith("Training stopped at the time budget", state.Note);
        Assert.Null(state.Error);
        Assert.False(state.CanResume);

        state.Load(Detail(ExperimentStatus.Completed, 3, [Point(1, 0.2)], [], note: "stored note"));
        Assert.Equal("stored note", state.Note);
    }
}
