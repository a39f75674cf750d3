using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>The review in Chromium after a tiny run: HD95 shown, the worst case (lowest Dice) first, a Dice filter that
/// narrows the table and its CSV link. The run is launched through the API to keep the test short.</summary>
[Collection(AppCollection.Name)]
public sealed class ReviewInDepthTests
{
    [Fact]
    public async Task ReviewShowsHd95AndTheWorstCaseFirst()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var api = new HttpClient { BaseAddress = baseUri };
        var token = await api.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        token.EnsureSuccessStatusCode();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        var upload = await api.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(15, 48, seed: 3)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await api.PostAsJsonAsync("/api/experiments",
            new { name = "review-depth", datasetId, model = "unext", epochs = 1, batchSize = 4, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, launch.StatusCode);
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ExperimentsApiTests.WaitForStatusAsync(api, id, "Completed", TimeSpan.FromMinutes(3));
        var cases = await api.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/cases");
        Assert.True(cases.GetArrayLength() >= 2, $"{cases.GetArrayLength()} validation cases");
        var worst = cases.EnumerateArray().OrderBy(c => c.GetProperty("dice").GetDouble()).ThenBy(c => c.GetProperty("name").GetString(), StringComparer.Ordinal).First();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        await WalkingSkeletonTests.SignInAsync(page);
        await page.GotoAsync($"/experiments/{id}/review");
        await WalkingSkeletonTests.InteractiveAsync(page);

        var rows = page.Locator("[data-testid=review-row]");
        await Assertions.Expect(rows).ToHaveCountAsync(cases.GetArrayLength());
        await Assertions.Expect(page.Locator("[data-testid=metric-header][data-column=hd95]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=metric-header][data-column=hd95]")).ToContainTextAsync("HD95");
        Assert.Equal(worst.GetProperty("name").GetString(), await rows.First.GetAttributeAsync("data-case"));
        var hd95 = worst.GetProperty("hd95");
        var expected = hd95.ValueKind == JsonValueKind.Null ? "—" : hd95.GetDouble().ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
        await Assertions.Expect(rows.First.Locator("td[data-column=hd95]")).ToHaveTextAsync(expected);
        await Assertions.Expect(page.Locator("[data-testid=selected-hd95]")).ToContainTextAsync("HD95");
        await Assertions.Expect(page.Locator("[data-testid=statistics-row][data-column=hd95]")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("[data-testid=review-policy]")).ToContainTextAsync("medpy convention");

        // Dice below the worst case's Dice: no row is left, and the CSV link carries the filter.
        await WalkingSkeletonTests.FillAsync(page, "dice-below", "0");
        await Assertions.Expect(rows).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("[data-testid=filter-count]")).ToContainTextAsync($"0 of {cases.GetArrayLength()} cases");
        var href = await page.Locator("[data-testid=export-csv]").GetAttributeAsync("href");
        Assert.Equal($"/api/experiments/{id}/cases.csv?diceBelow=0", href);
        var csv = await page.APIRequest.GetAsync(href!);
        Assert.Equal(200, csv.Status);
        Assert.StartsWith("case,class,truth_empty,dice", (await csv.TextAsync()).TrimStart('\uFEFF'));
        await page.Locator("[data-testid=dice-below] input, input[data-testid=dice-below]").First.FillAsync("");
        await page.Locator("[data-testid=dice-below] input, input[data-testid=dice-below]").First.BlurAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(cases.GetArrayLength());
        await WalkingSkeletonTests.ShotAsync(page, "review-in-depth");
    }
}
