using MedSeg.Data;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Experiments;

/// <summary>Live updates: one group per experiment; clients call <see cref="Join"/> with an experiment id they may see.</summary>
[Authorize]
public sealed class ExperimentHub(MedSegDbContext db) : Hub<IExperimentClient>
{
    public const string Url = "/hubs/experiments";

    public static string GroupName(Guid experimentId) => $"experiment-{experimentId:N}";

    public async Task Join(Guid experimentId)
    {
        var user = UserContext.From(Context.User!);
        var visible = await Sharing.Access.Experiments(db, user).AnyAsync(e => e.Id == experimentId);
        if (!visible) throw new HubException("No such experiment.");
        await Groups.AddToGroupAsync(Context.ConnectionId, GroupName(experimentId));
    }

    public Task Leave(Guid experimentId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, GroupName(experimentId));
}
