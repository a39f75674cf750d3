namespace MedSeg.Web.Features.Experiments;

/// <summary>Jobs push live updates only through this (it wraps the hub context).</summary>
public interface IExperimentNotifier
{
    Task BatchProgressAsync(BatchProgressMessage message);
    Task EpochCompletedAsync(EpochCompletedMessage message);
    Task PreviewsUpdatedAsync(PreviewsUpdatedMessage message);
    Task StatusChangedAsync(StatusChangedMessage message);
}
