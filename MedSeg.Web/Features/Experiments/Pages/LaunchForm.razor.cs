using MedSeg.Engine.Training;
using System.Globalization;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Shared;

namespace MedSeg.Web.Features.Experiments.Pages;

public sealed partial class LaunchForm : IDisposable
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    [Parameter, EditorRequired] public LaunchRequest Request { get; set; } = default!;
    [Parameter, EditorRequired] public IReadOnlyList<DatasetSummary> Datasets { get; set; } = [];
    [Parameter, EditorRequired] public IReadOnlyList<ModelChoice> Models { get; set; } = [];

    /// <summary>Launches the experiment; the form shows the returned field errors (the caller navigates on success).</summary>
    [Parameter, EditorRequired] public Func<LaunchRequest, Task<LaunchResult>> Launch { get; set; } = default!;

    /// <summary>The user's job and storage quotas, shown above the form (null: not shown).</summary>
    [Parameter] public Quotas.QuotaStatus? Quota { get; set; }

    /// <summary>Cap of the image size suggested from a dataset (256 suits CPU training).</summary>
    [Parameter] public int MaxSuggestedSize { get; set; } = LaunchOptions.CpuMaxSuggestedSize;

    private EditContext? editContext;
    private ValidationMessageStore? ruleMessages;
    private ValidationMessageStore? serverMessages;
    private List<FieldError> otherErrors = [];
    private bool busy;
    private bool sizeEdited;
    private int? suggestedSize;

    private ModelChoice? SelectedModel => Models.FirstOrDefault(m => m.Name == Request.Model);

    private int SizeMultiple => SelectedModel?.SizeMultiple ?? 32;

    private DatasetSummary? SelectedDataset => Datasets.FirstOrDefault(d => d.Id == Request.DatasetId);

    private string ImageSizeHint => $"Square; a multiple of {SizeMultiple}" + (SelectedModel is { } m ? $" for {m.Name}" : "") +
        (suggestedSize is int s ? $" · suggested for this dataset: {s}" : "");

    private string AugmentationHint => (Request.Augmentation ?? "").ToLowerInvariant() switch
    {
        "none" => "No augmentation",
        "flips" => "Horizontal and vertical flips",
        "light" => "Flips, 90° turns, mild brightness/contrast (recommended)",
        "strong" => "nnU-Net-like: + scale, rotation, gamma, noise, blur (slower to converge)",
        _ => "none, flips, light or strong",
    };

    private string ResizeHint => (Request.Resize ?? "").ToLowerInvariant() switch
    {
        "stretch" => "Stretch to the square size (the aspect ratio changes)",
        "letterbox" => "Keep the aspect ratio and pad to the square size",
        _ => "stretch or letterbox",
    };

    private string NormalizationHint => (Request.Normalization ?? "").ToLowerInvariant() switch
    {
        "per-image" => "Z-score of each image on its own",
        "dataset" => "Z-score with the mean and deviation of the training cases",
        "ct" => "CT: clip to the training foreground's 0.5–99.5 % intensities, then z-score",
        _ => "per-image, dataset or ct",
    };

    /// <summary>The suggested specs, plus the request's own spec when it is another valid one.</summary>
    private IEnumerable<string> LossChoices =>
        string.IsNullOrWhiteSpace(Request.Loss) || LaunchOptions.SuggestedLosses.Contains(Request.Loss)
            ? LaunchOptions.SuggestedLosses
            : [.. LaunchOptions.SuggestedLosses, Request.Loss];

    private string? DatasetHint => SelectedDataset is { } d
        ? $"{d.Cases} cases · {Format.SizeRange(d.MinWidth, d.MaxWidth, d.MinHeight, d.MaxHeight)} px · {d.Channels} channel(s)"
        : null;

    private string DatasetLabel(Guid? id) => Datasets.FirstOrDefault(d => d.Id == id)?.Name ?? "";

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    protected override void OnParametersSet()
    {
        if (editContext?.Model == Request) return;
        Detach();
        editContext = new EditContext(Request);
        ruleMessages = new ValidationMessageStore(editContext);
        serverMessages = new ValidationMessageStore(editContext);
        editContext.OnValidationRequested += OnValidationRequested;
        editContext.OnFieldChanged += OnFieldChanged;
        SuggestLoss();
    }

    private void OnValidationRequested(object? sender, ValidationRequestedEventArgs e)
    {
        serverMessages!.Clear();
        otherErrors = [];
        CheckRules();
    }

    private void OnFieldChanged(object? sender, FieldChangedEventArgs e)
    {
        // A field the user edits loses the server's complaint about it; the size rule depends on size and model.
        serverMessages!.Clear(e.FieldIdentifier);
        if (e.FieldIdentifier.FieldName is nameof(LaunchRequest.ImageSize)) sizeEdited = true;
        // A dataset chosen in the form proposes a size; a later model change re-rounds that proposal to the new multiple.
        if (e.FieldIdentifier.FieldName is nameof(LaunchRequest.DatasetId)
            || e.FieldIdentifier.FieldName is nameof(LaunchRequest.Model) && suggestedSize is not null) SuggestSize();
        if (e.FieldIdentifier.FieldName is nameof(LaunchRequest.DatasetId)) SuggestLoss();
        if (e.FieldIdentifier.FieldName is nameof(LaunchRequest.ImageSize) or nameof(LaunchRequest.Model))
        {
            CheckRules();
            editContext!.NotifyValidationStateChanged();
        }
    }

    /// <summary>The chosen dataset's default loss (bce+dice binary, dice+ce for a label map) while the loss is a default.</summary>
    private void SuggestLoss()
    {
        if (Request.Loss is null or TrainingPlan.DefaultBinaryLoss or TrainingPlan.DefaultMulticlassLoss)
            Request.Loss = TrainingPlan.DefaultLoss(SelectedDataset?.Classes ?? 1);
    }

    /// <summary>Proposes an image size from the chosen dataset's sizes (a multiple of the model's size multiple, capped at
    /// <see cref="MaxSuggestedSize"/>); it replaces the size only while the user has not typed one.</summary>
    private void SuggestSize()
    {
        if (SelectedDataset is not { } d || d.MaxWidth <= 0 || d.MaxHeight <= 0)
        {
            suggestedSize = null;
            return;
        }
        suggestedSize = LaunchOptions.SuggestImageSize(d.MinWidth, d.MaxWidth, d.MinHeight, d.MaxHeight, SizeMultiple, MaxSuggestedSize);
        if (!sizeEdited) Request.ImageSize = suggestedSize.Value;
    }

    private void CheckRules()
    {
        ruleMessages!.Clear();
        var size = editContext!.Field(nameof(LaunchRequest.ImageSize));
        if (Request.ImageSize > 0 && Request.ImageSize % SizeMultiple != 0)
        {
            var lower = Request.ImageSize / SizeMultiple * SizeMultiple;
            var upper = lower + SizeMultiple;
            var suggestion = lower >= 32 ? $"{lower} or {upper}" : upper.ToString(Invariant);
            ruleMessages.Add(size, $"Image size must be a multiple of {SizeMultiple} for {Request.Model}: try {suggestion}.");
        }
        if (!string.IsNullOrEmpty(Request.Model) && SelectedModel is null)
        {
            ruleMessages.Add(editContext.Field(nameof(LaunchRequest.Model)), $"Unknown architecture “{Request.Model}”.");
        }
    }

    private async Task SubmitAsync()
    {
        busy = true;
        try
        {
            var result = await Launch(Request);
            if (!result.Succeeded) ShowErrors(result.Errors);
        }
        catch (Exception ex)
        {
            otherErrors = [new FieldError("", ex is NotSupportedException ? "Launching is not available on this server yet." : ex.Message)];
        }
        finally
        {
            busy = false;
        }
    }

    private void ShowErrors(IReadOnlyList<FieldError> errors)
    {
        serverMessages!.Clear();
        otherErrors = [];
        foreach (var error in errors)
        {
            if (IsFormField(error.Field)) serverMessages.Add(editContext!.Field(error.Field), error.Message);
            else otherErrors.Add(error);
        }
        if (errors.Count == 0) otherErrors.Add(new FieldError("", "The server refused the request without saying why."));
        editContext!.NotifyValidationStateChanged();
    }

    private static bool IsFormField(string field) => field is nameof(LaunchRequest.DatasetId) or nameof(LaunchRequest.Model)
        or nameof(LaunchRequest.Name) or nameof(LaunchRequest.Epochs) or nameof(LaunchRequest.BatchSize)
        or nameof(LaunchRequest.ImageSize) or nameof(LaunchRequest.LearningRate) or nameof(LaunchRequest.Seed)
        or nameof(LaunchRequest.Augmentation) or nameof(LaunchRequest.Optimizer) or nameof(LaunchRequest.Schedule)
        or nameof(LaunchRequest.Loss) or nameof(LaunchRequest.EarlyStoppingPatience) or nameof(LaunchRequest.Resize)
        or nameof(LaunchRequest.Normalization) or nameof(LaunchRequest.WarmupEpochs) or nameof(LaunchRequest.GradientClipNorm)
        or nameof(LaunchRequest.TimeBudgetHours) or nameof(LaunchRequest.WeightDecay);

    private void Detach()
    {
        if (editContext is null) return;
        editContext.OnValidationRequested -= OnValidationRequested;
        editContext.OnFieldChanged -= OnFieldChanged;
    }

    public void Dispose() => Detach();
}
