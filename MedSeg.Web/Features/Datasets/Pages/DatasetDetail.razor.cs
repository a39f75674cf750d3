using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Features.Datasets.Pages;

public sealed partial class DatasetDetail
{
    public const int PageSize = 48;

    [Parameter] public Guid Id { get; set; }

    [Inject] private DatasetService Datasets { get; set; } = default!;
    [Inject] private IDialogService Dialogs { get; set; } = default!;

    private static readonly Dictionary<string, object?> newExperimentAttributes = new() { ["data-testid"] = "new-experiment" };

    private List<BreadcrumbItem> breadcrumbs = [];
    private DatasetSummary? dataset;
    private IReadOnlyList<DatasetCaseSummary>? cases;
    private bool loaded;
    private bool canCreate;
    private string? error;
    private string? casesError;
    private int currentPage = 1;
    private int skip;

    private int PageCount => dataset is null ? 0 : Math.Max(1, (dataset.Cases + PageSize - 1) / PageSize);

    protected override async Task OnParametersSetAsync()
    {
        loaded = false;
        error = null;
        cases = null;
        currentPage = 1;
        try
        {
            var user = await GetUserAsync();
            canCreate = user.CanCreate;
            dataset = await Datasets.GetAsync(Id, user);
        }
        catch (Exception ex)
        {
            error = Describe(ex);
        }
        loaded = true;
        breadcrumbs = [new("Datasets", "/datasets"), new(dataset?.Name ?? "Dataset", null, disabled: true)];
        if (dataset is not null) await LoadCasesAsync();
    }

    private async Task ShowPageAsync(int selected)
    {
        currentPage = selected;
        cases = null;
        await LoadCasesAsync();
    }

    private async Task LoadCasesAsync()
    {
        casesError = null;
        skip = (currentPage - 1) * PageSize;
        try
        {
            cases = await Datasets.ListCasesAsync(Id, await GetUserAsync(), skip, PageSize);
        }
        catch (Exception ex)
        {
            casesError = Describe(ex);
        }
    }

    private async Task OpenCaseAsync(DatasetCaseSummary item)
    {
        var parameters = new DialogParameters<CaseDialog>
        {
            { d => d.DatasetId, Id },
            { d => d.Case, item },
        };
        var options = new DialogOptions { MaxWidth = MaxWidth.Large, FullWidth = true, CloseButton = true, CloseOnEscapeKey = true };
        await Dialogs.ShowAsync<CaseDialog>(item.Name, parameters, options);
    }

    /// <summary>A new class map repaints the thumbnails (the server dropped its cached renditions).</summary>
    private async Task OnClassesSaved(IReadOnlyList<ClassEntry> stored)
    {
        if (dataset is not null) dataset = dataset with { ClassMap = stored };
        await LoadCasesAsync();
    }
}
