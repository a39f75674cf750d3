namespace MedSeg.Web.Features.Experiments;

/// <summary>Hangfire job: trains one experiment through the engine and evaluates its validation cases.</summary>
public sealed class TrainExperimentJob
{
    public Task RunAsync(Guid experimentId, CancellationToken cancellationToken) => throw new NotSupportedException();
}
