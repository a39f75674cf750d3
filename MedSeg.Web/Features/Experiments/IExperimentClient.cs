using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Experiments;

/// <summary>Messages pushed to the SignalR group of one experiment.</summary>
public interface IExperimentClient
{
    Task BatchProgress(BatchProgressMessage message);
    Task EpochCompleted(EpochCompletedMessage message);
    Task PreviewsUpdated(PreviewsUpdatedMessage message);
    Task StatusChanged(StatusChangedMessage message);
}

public sealed record BatchProgressMessage(Guid ExperimentId, int Epoch, int Epochs, int Batch, int Batches, double Loss);
public sealed record EpochCompletedMessage(Guid ExperimentId, EpochPoint Point, bool IsBest);
public sealed record PreviewsUpdatedMessage(Guid ExperimentId, int Epoch, IReadOnlyList<PreviewImage> Previews);
public sealed record StatusChangedMessage(Guid ExperimentId, ExperimentStatus Status, string? Message);
