using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace MedSeg.Web.Features.Experiments;

/// <summary>Live updates: one group per experiment; clients call <see cref="Join"/> with an experiment id they may see.</summary>
[Authorize]
public sealed class ExperimentHub : Hub<IExperimentClient>
{
    public const string Url = "/hubs/experiments";

    public static string GroupName(Guid experimentId) => $"experiment-{experimentId:N}";

    public Task Join(Guid experimentId) => throw new NotSupportedException();
}
