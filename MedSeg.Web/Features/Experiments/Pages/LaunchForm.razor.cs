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

    /// <summary>Cap of the image size suggested from a dataset (<see cref="LaunchSuggestions.MaxSizeFor"/> the training device).</summary>
    [Parameter] public int MaxSuggestedSize { get; set; } = LaunchSuggestions.CpuMaxSize;

    /// <summary>What one run may use on this server (<c>JobsOptions.EffectiveMemoryCeilingBytes</c>): the suggested batch fits it.</summary>
    [Parameter] public long MemoryCeilingBytes { get; set; } = 4L << 30;

    /// <summary>The pretrained-weights library (the picker offers the files that fit the model and variant); null = no picker.</summary>
    [Parameter] public IReadOnlyList<Weights.WeightsView>? WeightsLibrary { get; set; }

    /// <summary>Start from the suggestions: apply them all to the request when the form opens with a dataset chosen (the
    /// launch page; a request passed with values of its own keeps them when false).</summary>
    [Parameter] public bool ApplySuggestionsOnStart { get; set; }

    private EditContext? editContext;
    private ValidationMessageStore? ruleMessages;
    private ValidationMessageStore? serverMessages;
    private List<FieldError> otherErrors = [];
    private bool busy;
    private bool sizeEdited;
    private int? suggestedSize;
    private IReadOnlyList<LaunchSuggestion> suggestions = [];
    /// <summary>Fields the user changed; a new dataset or model re-applies the suggestions to the others only.</summary>
    private readonly HashSet<string> edited = [];

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

    private SavedSplitSummary? SelectedSplit => SelectedDataset?.Splits.FirstOrDefault(s => s.Id == Request.SplitId);

    /// <summary>The split picker's value: <see cref="Guid.Empty"/> stands for "random by seed" (no saved split).</summary>
    private Guid SplitChoice
    {
        get => Request.SplitId ?? Guid.Empty;
        set
        {
            Request.SplitId = value == Guid.Empty ? null : value;
            Request.Fold = Request.SplitId is null ? null : 0;
        }
    }

    private int FoldChoice
    {
        get => Request.Fold ?? 0;
        set => Request.Fold = value;
    }

    private string SplitLabel(Guid id) => id == Guid.Empty
        ? "Random by seed (default)"
        : SelectedDataset?.Splits.FirstOrDefault(s => s.Id == id) is { } s ? $"{s.Name} · {s.Kind}, v{s.Version}" : "";

    private string SplitHint => SelectedSplit is { } s
        ? $"Version {s.Version}: {s.Folds[0].Train + s.Folds[0].Validation + s.Folds[0].Test} cases, {s.Groups} groups" +
          (s.Folds[0].Test > 0 ? $", {s.Folds[0].Test} test cases never trained or validated on" : "")
        : "A random 80 / 20 split of the latest version by the seed below (whole volumes stay together)";

    private string FoldLabel(int fold) => SelectedSplit?.Folds.FirstOrDefault(f => f.Fold == fold) is { } f
        ? $"Fold {f.Fold}: {f.Train} train / {f.Validation} val"
        : $"Fold {fold}";

    private string DatasetLabel(Guid? id) => Datasets.FirstOrDefault(d => d.Id == id)?.Name ?? "";

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    private bool IsCt => string.Equals(Request.Normalization, "ct", StringComparison.OrdinalIgnoreCase);

    private const string FromForeground = "from the training foreground", CustomWindow = "custom";

    private static IEnumerable<string> WindowPresetNames =>
        [FromForeground, .. LaunchOptions.CtWindowPresets.Select(p => $"{p.Name} {LaunchSuggestions.Window(p.Low, p.High)}"), CustomWindow];

    /// <summary>The preset the window bounds match; choosing one sets both bounds.</summary>
    private string WindowPreset
    {
        get => Request.WindowLow is null && Request.WindowHigh is null ? FromForeground
            : LaunchOptions.CtWindowPresets.FirstOrDefault(p => p.Low == Request.WindowLow && p.High == Request.WindowHigh) is { } p
                ? $"{p.Name} {LaunchSuggestions.Window(p.Low, p.High)}" : CustomWindow;
        set
        {
            if (value == FromForeground) (Request.WindowLow, Request.WindowHigh) = (null, null);
            else if (LaunchOptions.CtWindowPresets.FirstOrDefault(p => value.StartsWith(p.Name + " ", StringComparison.Ordinal)) is { } p)
                (Request.WindowLow, Request.WindowHigh) = (p.Low, p.High);
            else if (Request.WindowLow is null || Request.WindowHigh is null) (Request.WindowLow, Request.WindowHigh) = (0, 100);
            edited.Add(nameof(LaunchRequest.Normalization));
        }
    }

    private string? SuggestionNote => SelectedDataset is { Fingerprint: null }
        ? "The dataset's fingerprint is not computed yet (open the dataset's page); the size comes from its size range only."
        : null;

    protected override void OnParametersSet()
    {
        if (editContext?.Model == Request) return;
        Detach();
        editContext = new EditContext(Request);
        ruleMessages = new ValidationMessageStore(editContext);
        serverMessages = new ValidationMessageStore(editContext);
        editContext.OnValidationRequested += OnValidationRequested;
        editContext.OnFieldChanged += OnFieldChanged;
        edited.Clear();
        UpdateSuggestions(apply: ApplySuggestionsOnStart);
        SuggestLoss();
    }

    /// <summary>Recomputes the suggestions for the chosen dataset and model (<see cref="LaunchSuggestions"/>); with
    /// <paramref name="apply"/>, sets every field the user has not edited to its suggestion.</summary>
    private void UpdateSuggestions(bool apply)
    {
        suggestions = SelectedDataset switch
        {
            { Fingerprint: { } f } => LaunchSuggestions.For(f, Request.Model, SizeMultiple, MemoryCeilingBytes, MaxSuggestedSize),
            { MaxWidth: > 0, MaxHeight: > 0 } d => [SizeFromRange(d), .. LaunchSuggestions.Recipe(Request.Model, LaunchSuggestions.TrainCases(d.Cases))],
            _ => [],
        };
        suggestedSize = suggestions.FirstOrDefault(s => s.Field == nameof(LaunchRequest.ImageSize))?.Number;
        if (!apply) return;
        foreach (var s in suggestions.Where(s => !edited.Contains(s.Field) && !(s.Field == nameof(LaunchRequest.ImageSize) && sizeEdited)))
            s.Apply(Request);
    }

    private LaunchSuggestion SizeFromRange(DatasetSummary d)
    {
        var size = LaunchOptions.SuggestImageSize(d.MinWidth, d.MaxWidth, d.MinHeight, d.MaxHeight, SizeMultiple, MaxSuggestedSize);
        return new LaunchSuggestion(nameof(LaunchRequest.ImageSize), "Image size", $"{size} px",
            $"sizes {Format.SizeRange(d.MinWidth, d.MaxWidth, d.MinHeight, d.MaxHeight)} → {size}") { Number = size };
    }

    private void ApplySuggestion(LaunchSuggestion s)
    {
        s.Apply(Request);
        edited.Remove(s.Field);
        if (s.Field == nameof(LaunchRequest.ImageSize)) sizeEdited = false;
        AfterApply();
    }

    private void ApplyAllSuggestions()
    {
        foreach (var s in suggestions) s.Apply(Request);
        edited.Clear();
        sizeEdited = false;
        AfterApply();
    }

    private void AfterApply()
    {
        serverMessages!.Clear();
        CheckRules();
        editContext!.NotifyValidationStateChanged();
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
        var field = e.FieldIdentifier.FieldName;
        if (field is nameof(LaunchRequest.ImageSize)) sizeEdited = true;
        if (field is nameof(LaunchRequest.Normalization) && !IsCt) (Request.WindowLow, Request.WindowHigh) = (null, null);
        if (field is nameof(LaunchRequest.WindowLow) or nameof(LaunchRequest.WindowHigh)) field = nameof(LaunchRequest.Normalization);
        // A saved split belongs to one dataset.
        if (field is nameof(LaunchRequest.DatasetId) && SelectedSplit is null) (Request.SplitId, Request.Fold) = (null, null);
        if (field is not (nameof(LaunchRequest.DatasetId) or nameof(LaunchRequest.Model))) edited.Add(field);
        // A dataset chosen in the form proposes its suggestions; a later model change recomputes them (size multiple, memory)
        // and re-applies them to the fields the user has not edited.
        if (field is nameof(LaunchRequest.DatasetId) || field is nameof(LaunchRequest.Model) && suggestions.Count > 0) UpdateSuggestions(apply: true);
        if (field is nameof(LaunchRequest.DatasetId)) SuggestLoss();
        // A model change resets its variant and options (another architecture's names mean nothing to it).
        if (e.FieldIdentifier.FieldName is nameof(LaunchRequest.Model))
        {
            Request.Variant = null;
            if (SelectedModel is not { TakesDeepSupervision: true }) Request.DeepSupervision = false;
        }
        CheckRules();
        editContext!.NotifyValidationStateChanged();
        // The field's own component re-rendered; the suggestions (applied / changed) and the variant picker belong to the form.
        StateHasChanged();
    }

    /// <summary>The chosen dataset's default loss (bce+dice binary, dice+ce for a label map) while the loss is a default.</summary>
    private void SuggestLoss()
    {
        if (Request.Loss is null or TrainingPlan.DefaultBinaryLoss or TrainingPlan.DefaultMulticlassLoss)
            Request.Loss = TrainingPlan.DefaultLoss(SelectedDataset?.Classes ?? 1);
    }

    /// <summary>The engine's rules (<see cref="TrainingSettings.Check"/>, the ones the API applies), each under its field.</summary>
    private void CheckRules()
    {
        ruleMessages!.Clear();
        var settings = Request.ToSettings(SelectedDataset?.Classes ?? 1, ExperimentService.InChannelsFor(SelectedDataset?.Channels ?? 3));
        foreach (var error in settings.Check())
        {
            if (IsFormField(error.Field)) ruleMessages.Add(editContext!.Field(error.Field), error.Message);
        }
    }

    /// <summary>The variant picker's value: the request's variant, or the model's default when it names none.</summary>
    private string VariantChoice
    {
        get => Request.Variant ?? SelectedModel?.Variants?.FirstOrDefault()?.Name ?? "";
        set => Request.Variant = value == SelectedModel?.Variants?.FirstOrDefault()?.Name ? null : value;
    }

    private string? VariantHint =>
        SelectedModel?.Variants?.FirstOrDefault(v => v.Name == VariantChoice) is { } v
            ? $"{v.Description} · {(v.Parameters / 1e6).ToString("0.##", Invariant)} M parameters" : null;

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
        or nameof(LaunchRequest.Variant) or nameof(LaunchRequest.DeepSupervision) or nameof(LaunchRequest.WeightsId)
        or nameof(LaunchRequest.Name) or nameof(LaunchRequest.Epochs) or nameof(LaunchRequest.BatchSize)
        or nameof(LaunchRequest.ImageSize) or nameof(LaunchRequest.LearningRate) or nameof(LaunchRequest.Seed)
        or nameof(LaunchRequest.Augmentation) or nameof(LaunchRequest.Optimizer) or nameof(LaunchRequest.Schedule)
        or nameof(LaunchRequest.Loss) or nameof(LaunchRequest.EarlyStoppingPatience) or nameof(LaunchRequest.Resize)
        or nameof(LaunchRequest.Normalization) or nameof(LaunchRequest.WarmupEpochs) or nameof(LaunchRequest.GradientClipNorm)
        or nameof(LaunchRequest.TimeBudgetHours) or nameof(LaunchRequest.WeightDecay) or nameof(LaunchRequest.WindowLow)
        or nameof(LaunchRequest.WindowHigh);

    private void Detach()
    {
        if (editContext is null) return;
        editContext.OnValidationRequested -= OnValidationRequested;
        editContext.OnFieldChanged -= OnFieldChanged;
    }

    public void Dispose() => Detach();
}
