using Microsoft.AspNetCore.SignalR;

namespace MedSeg.Web.Features.Experiments;

public sealed class ExperimentNotifier(IHubContext<ExperimentHub, IExperimentClient> hub) : IExperimentNotifier
{
    private IExperimentClient Group(Guid id) => hub.Clients.Group(ExperimentHub.GroupName(id));

    public Task BatchProgressAsync(BatchProgressMessage message) => Group(message.ExperimentId).BatchProgress(message);

    public Task EpochCompletedAsync(EpochCompletedMessage message) => Group(message.ExperimentId).EpochCompleted(message);

    public Task PreviewsUpdatedAsync(PreviewsUpdatedMessage message) => Group(message.ExperimentId).PreviewsUpdated(message);

    public Task StatusChangedAsync(StatusChangedMessage message) => Group(message.ExperimentId).StatusChanged(message);
}
