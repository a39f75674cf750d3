using MedSeg.Data.Entities;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments;
using Microsoft.AspNetCore.Components;

namespace MedSeg.Web.Components.Pages;

public sealed partial class Home
{
    private const int RecentCount = 5;

    [Inject] private DatasetService Datasets { get; set; } = default!;
    [Inject] private ExperimentService Experiments { get; set; } = default!;

    private int? datasetCount;
    private IReadOnlyList<ExperimentSummary>? experiments;
    private string? error;

    private IReadOnlyList<ExperimentSummary> Recent => [.. experiments!.OrderByDescending(e => e.CreatedAt).Take(RecentCount)];

    private int ActiveCount => experiments!.Count(e => e.Status is ExperimentStatus.Queued or ExperimentStatus.Running);

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    protected override async Task OnInitializedAsync()
    {
        try
        {
            var user = await GetUserAsync();
            datasetCount = (await Datasets.ListAsync(user)).Count;
            experiments = await Experiments.ListAsync(user);
        }
        catch (Exception ex)
        {
            error = Describe(ex);
        }
    }
}
