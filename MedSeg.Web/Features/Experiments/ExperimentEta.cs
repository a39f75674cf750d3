namespace MedSeg.Web.Features.Experiments;

/// <summary>How long a running run still needs: the epochs left times the mean of the measured epoch durations.</summary>
public static class ExperimentEta
{
    /// <param name="currentEpoch">The last finished epoch (1-based; 0 before the first).</param>
    /// <param name="epochs">The planned number of epochs.</param>
    /// <param name="epochSeconds">The measured durations of the finished epochs (non-positive values are ignored).</param>
    /// <returns>Null when nothing was measured yet or no epoch is left.</returns>
    public static TimeSpan? Remaining(int currentEpoch, int epochs, IEnumerable<double> epochSeconds)
    {
        var left = epochs - currentEpoch;
        if (left <= 0) return null;
        var measured = epochSeconds.Where(s => s > 0 && double.IsFinite(s)).ToList();
        if (measured.Count == 0) return null;
        return TimeSpan.FromSeconds(left * measured.Average());
    }
}
