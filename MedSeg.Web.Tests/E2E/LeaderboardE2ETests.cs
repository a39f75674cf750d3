using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Engine.Models;
using MedSeg.Web.Tests.Support;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>"Benchmark all architectures" in real Chromium: three small models, one epoch each on a tiny dataset, then the
/// table, the Dice-against-latency chart and the CSV link.</summary>
[Collection(AppCollection.Name)]
public sealed class LeaderboardE2ETests
{
    private static readonly string[] Chosen = ["unext", "segformer", "hrnet"];

    [Fact]
    public async Task ALeaderboardOfThreeModelsShowsItsTableAndChart()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await ExperimentGroupE2ETests.AdminAsync(baseUri);
        var datasetId = await ExperimentGroupE2ETests.DatasetAsync(admin, "leaderboard discs");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        await WalkingSkeletonTests.SignInAsync(page);
        try
        {
            await page.GotoAsync($"/datasets/{datasetId}");
            await WalkingSkeletonTests.InteractiveAsync(page);
            await page.Locator("[data-testid=dataset-benchmark]").ClickAsync();
            await page.WaitForURLAsync(new Regex($"/leaderboards\\?dataset={datasetId}"));
            await WalkingSkeletonTests.InteractiveAsync(page);
            await Assertions.Expect(page.Locator("[data-testid=leaderboard-submit]")).ToContainTextAsync($"Benchmark {ModelRegistry.Names.Count} architectures");
            foreach (var model in ModelRegistry.Names.Except(Chosen))
                await page.Locator($"[data-testid=leaderboard-model-{model}] input, input[data-testid=leaderboard-model-{model}]").First
                    .SetCheckedAsync(false, new() { Force = true });
            await Assertions.Expect(page.Locator("[data-testid=leaderboard-submit]")).ToContainTextAsync("Benchmark 3 architectures");
            await WalkingSkeletonTests.FillAsync(page, "leaderboard-epochs", "1");
            await page.Locator("[data-testid=leaderboard-submit]").ClickAsync();
            await page.WaitForURLAsync(new Regex("/leaderboards/[0-9a-f-]{36}$"));
            await Assertions.Expect(page.Locator("[data-testid=leaderboard-row]")).ToHaveCountAsync(3);
            // The page follows the runs as they finish, without a reload.
            await Assertions.Expect(page.Locator("[data-testid=leaderboard-status]")).ToContainTextAsync("3 of 3 runs completed", new() { Timeout = 300_000 });
            await Assertions.Expect(page.Locator("[data-testid=leaderboard-chart] .scatter-point")).ToHaveCountAsync(3);
            await Assertions.Expect(page.Locator("[data-testid=leaderboard-run]")).ToHaveCountAsync(3);
            await WalkingSkeletonTests.ShotAsync(page, "leaderboard");
        }
        catch (Exception e)
        {
            var text = await page.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
        }
        var id = Guid.Parse(page.Url.Split('/')[^1]);
        var board = await admin.GetFromJsonAsync<JsonElement>($"/api/leaderboards/{id}");
        var rows = board.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(Chosen.Order(), rows.Select(r => r.GetProperty("model").GetString()!).Order());
        foreach (var row in rows)
        {
            var model = row.GetProperty("model").GetString();
            var dice = row.GetProperty("dice").GetProperty("mean").GetDouble();
            await Assertions.Expect(page.Locator($"[data-testid=leaderboard-dice-{model}]"))
                .ToHaveTextAsync(dice.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture));
            await Assertions.Expect(page.Locator($"[data-testid=leaderboard-latency-{model}]"))
                .ToHaveTextAsync(row.GetProperty("latencyMs").GetDouble().ToString("0.00", System.Globalization.CultureInfo.InvariantCulture));
            await Assertions.Expect(page.Locator($"[data-testid=leaderboard-chart] .scatter-point[data-label={model}]")).ToHaveCountAsync(1);
        }
        await Assertions.Expect(page.Locator("[data-testid=leaderboard-csv]")).ToHaveAttributeAsync("href", $"/api/leaderboards/{id}/table.csv");
        var csv = await admin.GetStringAsync($"/api/leaderboards/{id}/table.csv");
        Assert.Equal(4, csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
