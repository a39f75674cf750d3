using MedSeg.Web.Features.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Features.Deletion.Pages;

/// <summary>Deletes one item: a dataset (<see cref="DatasetId"/>), an experiment (<see cref="ExperimentId"/>) or a prediction
/// run (<see cref="ExperimentId"/> and <see cref="RunId"/>).</summary>
public sealed partial class DeleteButton
{
    [Parameter] public Guid? DatasetId { get; set; }
    [Parameter] public Guid? ExperimentId { get; set; }
    [Parameter] public Guid? RunId { get; set; }
    /// <summary>Where to go once deleted (the list); without it <see cref="OnDeleted"/> is told instead.</summary>
    [Parameter] public string? ReturnHref { get; set; }
    [Parameter] public EventCallback<DeleteResponse> OnDeleted { get; set; }
    [Parameter] public Size Size { get; set; } = Size.Medium;
    [Parameter] public string TestId { get; set; } = "delete";

    [Inject] private DeletionService Deletion { get; set; } = default!;
    [Inject] private IDialogService Dialogs { get; set; } = default!;
    [Inject] private ISnackbar Snackbar { get; set; } = default!;
    [Inject] private NavigationManager Navigation { get; set; } = default!;

    private Dictionary<string, object?> attributes = [];
    private bool busy;

    protected override void OnParametersSet() => attributes = new() { ["data-testid"] = TestId };

    private async Task OpenAsync()
    {
        busy = true;
        try
        {
            var user = await GetUserAsync();
            var parameters = await DialogParametersAsync(user);
            if (parameters is null)
            {
                Snackbar.Add("It was not found: someone may have deleted it already.", Severity.Warning);
                return;
            }
            var options = new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true };
            var dialog = await Dialogs.ShowAsync<DeleteDialog>(Title, parameters, options);
            if (await dialog.Result is not { Canceled: false, Data: DeleteResponse response }) return;
            var what = response.Deleted.Experiments.Count > 0 && DatasetId is not null
                ? $"Deleted the dataset and {response.Deleted.Experiments.Count} experiment(s)"
                : "Deleted";
            Snackbar.Add($"{what}: {Format.Bytes(response.FreedBytes)} freed.", Severity.Success);
            if (ReturnHref is not null) Navigation.NavigateTo(ReturnHref);
            else await OnDeleted.InvokeAsync(response);
        }
        catch (Exception ex)
        {
            Snackbar.Add($"Could not delete it: {Describe(ex)}", Severity.Error);
        }
        finally
        {
            busy = false;
        }
    }

    private string Title => DatasetId is not null ? "Delete this dataset?" : RunId is not null ? "Delete this prediction run?" : "Delete this experiment?";

    private async Task<DialogParameters<DeleteDialog>?> DialogParametersAsync(UserContext user)
    {
        if (DatasetId is { } datasetId)
        {
            if (await Deletion.PlanDatasetAsync(datasetId, user) is not { } plan) return null;
            string? blocked = plan.CanDeleteWithExperiments ? null
                : $"Experiments of other users use this dataset ({plan.BlockedExperiments.Count + plan.HiddenExperiments}); " +
                  "it can be deleted once their owners (or an admin) have deleted them.";
            return new()
            {
                { d => d.Summary, $"Dataset “{plan.Name}”: {plan.Cases} cases, {Format.Bytes(plan.Bytes)} on disk (images, masks and cached renditions)." },
                { d => d.Experiments, plan.Experiments },
                { d => d.ExperimentBytes, plan.ExperimentBytes },
                { d => d.Blocked, blocked },
                { d => d.Delete, with => Deletion.DeleteDatasetAsync(datasetId, with, user) },
            };
        }
        if (ExperimentId is not { } experimentId) return null;
        if (RunId is { } runId)
        {
            if (await Deletion.PlanPredictionRunAsync(experimentId, runId, user) is not { } run) return null;
            return new()
            {
                { d => d.Summary, $"Prediction run of {run.Images} image(s): {Format.Bytes(run.Bytes)} on disk (the uploaded images, the masks and masks.zip)." },
                { d => d.Blocked, run.Active ? "It is queued or running, and prediction runs cannot be cancelled yet: delete it once it has finished." : null },
                { d => d.Delete, _ => Deletion.DeletePredictionRunAsync(experimentId, runId, user) },
            };
        }
        if (await Deletion.PlanExperimentAsync(experimentId, user) is not { } experiment) return null;
        return new()
        {
            { d => d.Summary, $"Experiment “{experiment.Name}” ({experiment.Status}): {Format.Bytes(experiment.Bytes)} on disk " +
                              $"(checkpoints, previews, evaluation masks and {experiment.PredictionRuns} prediction run(s))." },
            { d => d.Note, experiment.Active ? "It is still queued or training: it is cancelled first, and deleted once its training process has stopped." : null },
            { d => d.Delete, _ => Deletion.DeleteExperimentAsync(experimentId, user) },
        };
    }
}
