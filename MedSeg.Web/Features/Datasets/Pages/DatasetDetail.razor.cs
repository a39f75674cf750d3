using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Features.Datasets.Pages;

public sealed partial class DatasetDetail
{
    [Parameter] public Guid Id { get; set; }

    [Inject] private DatasetService Datasets { get; set; } = default!;

    private static readonly Dictionary<string, object?> newExperimentAttributes = new() { ["data-testid"] = "new-experiment" };
    private static readonly Dictionary<string, object?> exportAttributes = new() { ["data-testid"] = "dataset-export", ["download"] = "" };

    private List<BreadcrumbItem> breadcrumbs = [];
    private DatasetSummary? dataset;
    private UserContext? user;
    private bool loaded;
    private bool canCreate;
    private string? error;

    protected override async Task OnParametersSetAsync()
    {
        loaded = false;
        error = null;
        try
        {
            user = await GetUserAsync();
            canCreate = user.CanCreate;
            dataset = await Datasets.GetAsync(Id, user);
        }
        catch (Exception ex)
        {
            error = Describe(ex);
        }
        loaded = true;
        breadcrumbs = [new("Datasets", "/datasets"), new(dataset?.Name ?? "Dataset", null, disabled: true)];
    }

    /// <summary>A new class map repaints the thumbnails (the server dropped its cached renditions; the grid's thumbnail URLs
    /// carry the colours, so the browser fetches them again).</summary>
    private void OnClassesSaved(IReadOnlyList<ClassEntry> stored)
    {
        if (dataset is not null) dataset = dataset with { ClassMap = stored };
    }
}
