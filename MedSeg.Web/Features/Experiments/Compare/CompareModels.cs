using MedSeg.Data.Entities;

namespace MedSeg.Web.Features.Experiments.Compare;

/// <summary>What <c>GET /api/compare</c> and the Compare page ask for: experiments by id and groups (expanded to their
/// members), 2 … <see cref="MaxRuns"/> distinct experiments in all.</summary>
public sealed record CompareQuery(IReadOnlyList<Guid> Ids, IReadOnlyList<Guid> Groups)
{
    public const int MinRuns = 2, MaxRuns = 10;

    /// <summary>Reads the comma-separated <c>ids</c> and <c>groups</c> of the query string (blanks ignored, duplicates kept
    /// once); the errors name the field and the token that is not an id.</summary>
    public static (CompareQuery Query, IReadOnlyList<FieldError> Errors) Parse(string? ids, string? groups)
    {
        var errors = new List<FieldError>();
        var query = new CompareQuery(Guids(ids, "Ids", "experiment", errors), Guids(groups, "Groups", "group", errors));
        if (errors.Count > 0) return (query, errors);
        // What the ids alone decide is answered before looking anything up; groups count by their members (the service).
        if (query.Ids.Count + query.Groups.Count == 0)
            errors.Add(new FieldError("Ids", $"Give {MinRuns} to {MaxRuns} experiments to compare (ids=a,b) or groups (groups=g), comma-separated."));
        else if (query.Groups.Count == 0 && query.Ids.Count < MinRuns)
            errors.Add(new FieldError("Ids", $"Compare at least {MinRuns} experiments; got {query.Ids.Count} distinct id. Add another (ids=a,b) or a group (groups=g)."));
        else if (query.Ids.Count > MaxRuns)
            errors.Add(new FieldError("Ids", $"Compare at most {MaxRuns} experiments; got {query.Ids.Count} distinct ids."));
        return (query, errors);
    }

    private static List<Guid> Guids(string? text, string field, string what, List<FieldError> errors)
    {
        var list = new List<Guid>();
        foreach (var token in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Guid.TryParse(token, out var id))
            {
                if (!list.Contains(id)) list.Add(id);
            }
            else
            {
                var shown = token.Length > 40 ? token[..40] + "…" : token;
                errors.Add(new FieldError(field, $"'{shown}' is not an {what} id (a GUID such as 3f2c…-…); the list is comma-separated."));
            }
        }
        return list;
    }

    /// <summary>The query string of the Compare page for these ids and groups (shareable).</summary>
    public string PageUrl() =>
        "/compare?" + string.Join('&', new[] { ("ids", Ids), ("groups", Groups) }.Where(p => p.Item2.Count > 0)
            .Select(p => $"{p.Item1}={string.Join(',', p.Item2)}"));
}

/// <param name="Group">The requested group it was expanded from (null when asked for by id).</param>
public sealed record CompareRun(Guid Id, string Name, string Model, ExperimentStatus Status, Guid DatasetId, string DatasetName,
    int DatasetVersion, int Epochs, Guid? Group);

/// <summary>One epoch of a run's curves: <see cref="WallSeconds"/> is the training time up to the end of this epoch (the sum
/// of the stored epochs' seconds).</summary>
public sealed record CurvePoint(int Epoch, double WallSeconds, double TrainLoss, double ValidationLoss, double ValidationDice, double LearningRate);

public sealed record RunCurve(Guid RunId, IReadOnlyList<CurvePoint> Points);

/// <summary>A configuration field (dotted name of the snapshot, e.g. <c>learningRate</c>, <c>modelOptions.variant</c>,
/// <c>dataset.version</c>, <c>split.fold</c>) whose values differ between the runs; <see cref="Values"/> in the order of
/// the runs, as JSON text (null: the run's snapshot does not have it).</summary>
public sealed record ConfigDifference(string Field, IReadOnlyList<string?> Values);

public sealed record RunMetrics(Guid RunId, MemberMetrics Metrics);

/// <summary>Mean and sample std over a requested group's completed members (<see cref="GroupStatistics.Summarize"/>).</summary>
public sealed record GroupMetrics(Guid GroupId, string Name, int Members, int Completed,
    IReadOnlyDictionary<string, double?> Mean, IReadOnlyDictionary<string, double?> Std);

public sealed record CompareMetrics(IReadOnlyList<RunMetrics> Runs, IReadOnlyList<GroupMetrics> Groups);

/// <summary>One run's result on a case: its Dice and its predicted mask (null when the run did not evaluate the case).</summary>
public sealed record CaseRunResult(Guid RunId, double? Dice, string? PredictionUrl);

/// <summary>An evaluated case across the runs: image and ground truth (served through a run that evaluated it), each run's
/// Dice and prediction in run order; <see cref="Spread"/> = max − min Dice over the runs that evaluated it (null with fewer
/// than two).</summary>
public sealed record ComparedCase(Guid CaseId, string Name, double? Spread, string ImageUrl, string TruthUrl, IReadOnlyList<CaseRunResult> Runs);

/// <summary><c>GET /api/compare</c>: the runs, their curves, the configuration fields that differ, final metrics (with
/// mean ± std per requested group), and the evaluated cases, largest spread between the runs first.</summary>
public sealed record CompareView(IReadOnlyList<CompareRun> Runs, IReadOnlyList<RunCurve> Curves, IReadOnlyList<ConfigDifference> Diff,
    CompareMetrics Metrics, IReadOnlyList<ComparedCase> Cases);

/// <summary>What a comparison answered: the view, or field errors (400), or what is not visible (404).</summary>
public sealed record CompareResult(CompareView? View, IReadOnlyList<FieldError> Errors, string? NotFound = null);

/// <summary>The Compare page's loaded state (kept from the prerender for the interactive render): the view, or the refusal's
/// messages, or what was not found.</summary>
public sealed record ComparePageState(CompareView? View, IReadOnlyList<string> Errors, string? NotFound);
