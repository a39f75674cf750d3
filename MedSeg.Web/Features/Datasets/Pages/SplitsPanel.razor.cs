using MedSeg.Web.Features.Experiments;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Features.Datasets.Pages;

public sealed partial class SplitsPanel
{
    [Parameter, EditorRequired] public DatasetSummary Dataset { get; set; } = default!;

    /// <summary>Creates the split; default: <see cref="SplitService.CreateAsync"/> for the signed-in user.</summary>
    [Parameter] public Func<SplitRequest, Task<SplitResult>>? Create { get; set; }

    [Inject] private IServiceProvider Services { get; set; } = default!;

    private readonly SplitRequest request = new() { Kind = "kfold" };
    private List<SavedSplitSummary> splits = [];
    private IReadOnlyList<FieldError> errors = [];
    private bool busy;

    protected override void OnParametersSet() => splits = [.. Dataset.Splits];

    private async Task CreateAsync()
    {
        busy = true;
        errors = [];
        try
        {
            var result = Create is not null
                ? await Create(request)
                : await Services.GetRequiredService<SplitService>().CreateAsync(Dataset.Id, request, await GetUserAsync());
            if (result.Split is { } split) splits.Insert(0, split);
            else errors = result.Forbidden ? [new FieldError("", "Only the dataset's owner or an admin can create splits.")] : result.Errors;
        }
        catch (Exception ex)
        {
            errors = [new FieldError("", Describe(ex))];
        }
        finally
        {
            busy = false;
        }
    }

    private static string Count(int cases, int groups) => cases == groups ? cases.ToString() : $"{cases} ({groups} groups)";

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };
}
