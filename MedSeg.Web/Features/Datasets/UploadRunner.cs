using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Datasets;

/// <summary>
/// Validates and stores uploads in the background, one at a time on this node (unpacking and decoding use every core, and
/// one at a time keeps memory flat however many arrive), so the request that carried the archive returns as soon as it is
/// on disk and the page can be left. Not a Hangfire job on purpose: the archive is in this node's staging folder, and a
/// worker node elsewhere could not read it. The job owns the <see cref="StagedUpload"/> and removes it when it ends.
/// </summary>
public sealed class UploadRunner(IServiceScopeFactory scopes, UploadTracker tracker, IOptions<LimitsOptions> limits, ILogger<UploadRunner> logger)
{
    private readonly SemaphoreSlim oneAtATime = new(1, 1);

    /// <summary>Starts the ingest of a received upload; returns at once.</summary>
    /// <param name="admitValid">Store the valid cases without the bad ones, without asking (the API's <c>admit=valid</c>).</param>
    /// <param name="review">Ask the owner when there are problems or a class map to confirm (the browser).</param>
    /// <param name="reviewAlways">Ask the owner even for a clean binary upload.</param>
    /// <param name="volumes">How NIfTI volumes are cut into slices (the API's <c>axis</c> and <c>emptySlices</c>).</param>
    public UploadJob Start(StagedUpload upload, StagedFile file, string name, UserContext user, bool admitValid, bool review, bool reviewAlways,
        MedSeg.Engine.Data.Volumes.VolumeImportOptions? volumes = null, IReadOnlyList<ClassEntry>? classes = null)
    {
        var job = tracker.Add(new UploadJob(user.UserId, name, file.FileName, file.Length));
        _ = Task.Run(() => RunAsync(job, upload, file, user, admitValid, review, reviewAlways, volumes, classes));
        return job;
    }

    private async Task RunAsync(UploadJob job, StagedUpload upload, StagedFile file, UserContext user, bool admitValid, bool review, bool reviewAlways,
        MedSeg.Engine.Data.Volumes.VolumeImportOptions? volumes, IReadOnlyList<ClassEntry>? classes)
    {
        var ct = job.Cancellation.Token;
        using (upload)
        {
            try
            {
                await oneAtATime.WaitAsync(ct);
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var datasets = scope.ServiceProvider.GetRequiredService<DatasetService>();
                    var hold = TimeSpan.FromMinutes(limits.Value.UploadDecisionMinutes);
                    var options = new IngestOptions(admitValid,
                        review ? (r, token) => job.AwaitDecisionAsync(r, hold, token) : null,
                        reviewAlways, job.Report, volumes, classes);
                    var result = await datasets.IngestZipAsync(job.Name, file, upload.Directory, user, options, ct);
                    Finish(job, result);
                }
                finally
                {
                    oneAtATime.Release();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                job.Finish(UploadState.Cancelled, "The upload was cancelled; nothing was stored.");
            }
            catch (Exception e)
            {
                logger.LogError(e, "Upload {Id} ('{Name}') failed", job.Id, job.Name);
                job.Finish(UploadState.Failed, "The upload failed on the server; nothing was stored. The server log has the details.");
            }
        }
    }

    private static void Finish(UploadJob job, IngestResult result)
    {
        if (result.Dataset is { } stored)
        {
            var note = result.LeftOut.Count > 0 ? $", without the {result.LeftOut.Count} file(s) the report names" : "";
            job.Finish(UploadState.Stored, $"Stored {stored.Cases} cases as '{stored.Name}'{note}.", result.Problems, stored.Id, stored.Cases, result.LeftOut);
        }
        else if (result.OverQuota is { } quota)
        {
            job.Finish(UploadState.Refused, quota.Message + " Nothing was stored.");
        }
        else if (result.Refused)
        {
            job.Finish(UploadState.Refused, "The upload was refused; nothing was stored.", result.Problems);
        }
        else
        {
            job.Finish(UploadState.Refused, $"The upload was refused: {result.Problems.Count} problem(s); nothing was stored.", result.Problems);
        }
    }
}
