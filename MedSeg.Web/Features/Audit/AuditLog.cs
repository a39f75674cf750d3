using MedSeg.Data;
using MedSeg.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace MedSeg.Web.Features.Audit;

/// <summary>The verbs of the audit log, one constant per action the log records.</summary>
public static class AuditActions
{
    public const string SignInSuccess = "signin.success";
    public const string SignInFailure = "signin.failure";
    public const string UserCreate = "user.create";
    public const string UserUpdate = "user.update";
    public const string UserPassword = "user.password";
    public const string DatasetUpload = "dataset.upload";
    public const string DatasetDelete = "dataset.delete";
    /// <summary>Cases added or removed: a new dataset version.</summary>
    public const string DatasetVersion = "dataset.version";
    public const string SplitCreate = "split.create";
    public const string DatasetClasses = "dataset.classes";
    public const string ExperimentLaunch = "experiment.launch";
    public const string ExperimentCancel = "experiment.cancel";
    public const string ExperimentResume = "experiment.resume";
    public const string ExperimentDelete = "experiment.delete";
    public const string PredictionStart = "prediction.start";
    public const string PredictionDelete = "prediction.delete";
    public const string ShareCreate = "share.create";
    public const string ShareDelete = "share.delete";
    public const string TokenCreate = "token.create";
    public const string TokenRevoke = "token.revoke";
    public const string DownloadMasks = "download.masks";
    public const string DownloadWeights = "download.weights";
    public const string WeightsUpload = "weights.upload";
    public const string WeightsDelete = "weights.delete";
}

/// <summary>One audit row to write. <paramref name="Detail"/> is a short description: never file contents, passwords or secrets.</summary>
public sealed record AuditRecord(string Action, string? TargetKind = null, string? TargetId = null, string? Detail = null, bool Succeeded = true);

/// <summary>Appends rows to the audit log (<see cref="AuditEntry"/>). A failure to write is logged, never thrown at the caller.</summary>
public sealed class AuditLog(IDbContextFactory<MedSegDbContext> contexts, IHttpContextAccessor http, ILogger<AuditLog> logger)
{
    public Task WriteAsync(UserContext? actor, AuditRecord record, CancellationToken ct = default) =>
        WriteAsync(actor?.UserId, actor?.Name ?? "", record, ct);

    /// <summary>For actions without a signed-in user (a failed sign-in): the name is the email that was tried.</summary>
    public async Task WriteAsync(string? actorId, string actorName, AuditRecord record, CancellationToken ct = default)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            db.AuditLog.Add(new AuditEntry
            {
                ActorId = actorId,
                ActorName = Clip(actorName, 256) ?? "",
                Action = record.Action,
                TargetKind = record.TargetKind,
                TargetId = Clip(record.TargetId, 100),
                Detail = Clip(record.Detail, 1000),
                IpAddress = http.HttpContext?.Connection.RemoteIpAddress?.ToString(),
                Succeeded = record.Succeeded,
            });
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException)
        {
            logger.LogError(e, "Could not write the audit row {Action} by {Actor}", record.Action, actorName);
        }
    }

    private static string? Clip(string? text, int max) => text is null || text.Length <= max ? text : text[..max];
}
