using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>Two tiny runs that differ in their learning rate, picked on the experiment list and compared in real Chromium:
/// overlaid curves, a diff with only that field, and the same case side by side.</summary>
[Collection(AppCollection.Name)]
public sealed class CompareE2ETests
{
    /// <summary>A tiny run launched through the API (2 epochs at 32 px), its id.</summary>
    internal static async Task<Guid> LaunchAsync(HttpClient admin, Guid datasetId, string name, double learningRate, int epochs = 2)
    {
        var launched = await admin.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, name, model = "unext", epochs, batchSize = 2, imageSize = 32, learningRate, warmupEpochs = 0,
        });
        Assert.True(launched.StatusCode == HttpStatusCode.Accepted, await launched.Content.ReadAsStringAsync());
        return (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task CompareTwoRunsCurvesDiffAndTheSameCase()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await ExperimentGroupE2ETests.AdminAsync(baseUri);
        var datasetId = await ExperimentGroupE2ETests.DatasetAsync(admin, "compare discs");
        var a = await LaunchAsync(admin, datasetId, "cmp slow", 0.004);
        var b = await LaunchAsync(admin, datasetId, "cmp fast", 0.01);
        foreach (var id in new[] { a, b }) await ExperimentsApiTests.WaitForStatusAsync(admin, id, "Completed", TimeSpan.FromMinutes(3));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var violations = CspViolations.Watch(page);
        try
        {
            await WalkingSkeletonTests.SignInAsync(page);
            await page.GotoAsync("/experiments");
            await WalkingSkeletonTests.InteractiveAsync(page);
            foreach (var name in new[] { "cmp slow", "cmp fast" })
                await page.Locator($"[data-testid=experiment-select][data-experiment='{name}'] input, input[data-testid=experiment-select][data-experiment='{name}']").First.ClickAsync();
            // Ticking does not open the run.
            Assert.EndsWith("/experiments", page.Url);
            await Assertions.Expect(page.Locator("[data-testid=compare-selected]")).ToContainTextAsync("Compare (2)");
            await page.Locator("[data-testid=compare-selected]").ClickAsync();
            await page.WaitForURLAsync(new Regex("/compare\\?ids="));
            Assert.Contains(a.ToString(), page.Url);
            Assert.Contains(b.ToString(), page.Url);
            await WalkingSkeletonTests.InteractiveAsync(page);

            // Curves: one line per run on the Dice and learning-rate charts, train and validation per run on the loss chart.
            await Assertions.Expect(page.Locator("[data-testid=compare-chart-dice] polyline.series")).ToHaveCountAsync(2);
            await Assertions.Expect(page.Locator("[data-testid=compare-chart-lr] polyline.series")).ToHaveCountAsync(2);
            await Assertions.Expect(page.Locator("[data-testid=compare-chart-loss] polyline.series")).ToHaveCountAsync(4);
            await page.Locator("[data-testid=compare-x-wall]").ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=compare-chart-dice]")).ToContainTextAsync("Wall time");

            // The diff: the learning rate, nothing else.
            await Assertions.Expect(page.Locator("[data-testid=diff-row]")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("[data-testid=diff-row]")).ToHaveAttributeAsync("data-field", "learningRate");
            // In the list's order (newest first): each run's own value.
            var order = await page.Locator("[data-testid=metrics-run]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.run)");
            await Assertions.Expect(page.Locator("[data-testid=diff-row] [data-testid=diff-value]"))
                .ToHaveTextAsync(order.Select(id => Guid.Parse(id) == a ? "0.004" : "0.01").ToArray());
            await Assertions.Expect(page.Locator("[data-testid=metrics-run]")).ToHaveCountAsync(2);

            // The same case: image, ground truth and both runs' predictions, each with its Dice.
            await Assertions.Expect(page.Locator("[data-testid=across-prediction]")).ToHaveCountAsync(2);
            await WalkingSkeletonTests.WaitForImagesAsync(page, "[data-testid=compare-cases] img");
            await Assertions.Expect(page.Locator("[data-testid=across-dice]").First).ToHaveTextAsync(new Regex(@"^\d\.\d{3}$"));
            var rows = page.Locator("[data-testid=across-row]");
            if (await rows.CountAsync() > 1)
            {
                var second = await rows.Nth(1).GetAttributeAsync("data-case");
                await rows.Nth(1).ClickAsync();
                await Assertions.Expect(page.Locator("[data-testid=case-selected]")).ToContainTextAsync(second!);
            }
            await WalkingSkeletonTests.ShotAsync(page, "compare");
        }
        catch (Exception e)
        {
            var text = await page.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
        }
        // The page's table holds what the API answers for the page's address.
        var view = await admin.GetFromJsonAsync<JsonElement>($"/api/compare{new Uri(page.Url).Query}");
        var shown = view.GetProperty("cases")[0].GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("dice").GetDouble().ToString("F3", System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator("[data-testid=across-row]").First.Locator("td.num").Nth(1)).ToHaveTextAsync(shown.First());
        violations.AssertNone();
    }
}
