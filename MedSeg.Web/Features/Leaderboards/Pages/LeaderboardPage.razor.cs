using System.Globalization;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace MedSeg.Web.Features.Leaderboards.Pages;

public sealed partial class LeaderboardPage
{
    /// <summary>How often the page asks again while runs are queued or training.</summary>
    public static TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] Palette = ["#1e88e5", "#e53935", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#6d4c41", "#3949ab", "#c0ca33"];

    [Parameter] public Guid Id { get; set; }

    [Inject] private LeaderboardService Leaderboards { get; set; } = default!;

    private readonly List<BreadcrumbItem> breadcrumbs = [new("Experiments", "/experiments"), new("Leaderboards", "/leaderboards")];
    private readonly CancellationTokenSource stop = new();
    private LeaderboardDetail? board;
    private bool loaded;
    private string? error;

    private int Runs => board?.Rows.Sum(r => r.Runs.Count) ?? 0;
    private int Completed => board?.Rows.Sum(r => r.Runs.Count(x => x.Status == ExperimentStatus.Completed)) ?? 0;

    /// <summary>One point per model with a mean Dice and a measured latency, linked to its first run.</summary>
    private IReadOnlyList<ScatterPoint> Points => board is null ? [] :
        [.. board.Rows.Select((r, i) => (Row: r, Color: Palette[i % Palette.Length]))
            .Where(x => x.Row.Dice.Mean is not null && x.Row.LatencyMs is not null)
            .Select(x => new ScatterPoint(x.Row.Model, x.Row.LatencyMs!.Value, x.Row.Dice.Mean!.Value, x.Color, $"/experiments/{x.Row.Runs[0].ExperimentId}"))];

    private static Dictionary<string, object?> Test(string id) => new() { ["data-testid"] = id };

    private static string Pm(MeanStd value, string format = "0.000") => value.Mean is not { } mean ? "—"
        : value.Std is { } std ? $"{mean.ToString(format, Inv)} ± {std.ToString(format, Inv)}" : mean.ToString(format, Inv);

    private static string RunTip(LeaderboardRun run) =>
        $"{run.Name}: {run.Status}" + (run.MeasurementError is { } e ? $"; not measured: {e}" : run.Device is { } d ? $"; latency measured on {d}" : "");

    protected override async Task OnInitializedAsync()
    {
        await LoadAsync();
        loaded = true;
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender) _ = RefreshAsync();
    }

    private async Task LoadAsync()
    {
        try
        {
            board = await Leaderboards.GetAsync(Id, await GetUserAsync(), stop.Token);
            if (board is not null && breadcrumbs.Count == 2) breadcrumbs.Add(new(board.Name, null, disabled: true));
            error = null;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            error = Describe(ex);
        }
    }

    /// <summary>Reloads while runs are queued or training (each run's own page is live; this one asks).</summary>
    private async Task RefreshAsync()
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                if (board?.Status != "running") continue;
                await InvokeAsync(async () =>
                {
                    await LoadAsync();
                    StateHasChanged();
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        stop.Dispose();
    }
}
