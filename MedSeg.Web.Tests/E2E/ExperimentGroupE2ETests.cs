using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>Clone and edit, and a group of seeds with its mean ± std, in real Chromium over tiny runs.</summary>
[Collection(AppCollection.Name)]
public sealed class ExperimentGroupE2ETests
{
    /// <summary>An API client signed in as the admin with a token.</summary>
    internal static async Task<HttpClient> AdminAsync(Uri baseUri)
    {
        var admin = new HttpClient { BaseAddress = baseUri };
        var token = await admin.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        return admin;
    }

    /// <summary>A 6-case 32×32 dataset uploaded through the API.</summary>
    internal static async Task<Guid> DatasetAsync(HttpClient admin, string name)
    {
        var upload = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload(name, SyntheticDataset.Zip(6, 32)));
        Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());
        return (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<IPage> PageAsync(IBrowser browser, Uri baseUri)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        await WalkingSkeletonTests.SignInAsync(page);
        return page;
    }

    private static async Task<Exception> Explain(IPage page, Exception e)
    {
        var text = await page.InnerTextAsync("body");
        return new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
    }

    [Fact]
    public async Task CloneAndEditChangesOneFieldAndKeepsTheOthers()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await AdminAsync(baseUri);
        var datasetId = await DatasetAsync(admin, "clone discs");
        // Settings away from the suggestions, so a form that fell back to them would show.
        var launched = await admin.PostAsJsonAsync("/api/experiments", new
        {
            datasetId, name = "original", model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.004, seed = 9,
            augmentation = "flips", loss = "dice", weightDecay = 0.02, optimizer = "sgd", schedule = "poly", gradientClipNorm = 5,
        });
        Assert.True(launched.StatusCode == HttpStatusCode.Accepted, await launched.Content.ReadAsStringAsync());
        var sourceId = (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var source = await ExperimentsApiTests.WaitForStatusAsync(admin, sourceId, "Completed", TimeSpan.FromMinutes(3));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await PageAsync(browser, baseUri);
        try
        {
            await page.GotoAsync($"/experiments/{sourceId}");
            await WalkingSkeletonTests.InteractiveAsync(page);
            await page.Locator("[data-testid=experiment-clone]").ClickAsync();
            await page.WaitForURLAsync(new Regex($"/experiments/new\\?from={sourceId}"));
            await WalkingSkeletonTests.InteractiveAsync(page);
            await Assertions.Expect(page.Locator("[data-testid=launch-cloned-from]")).ToContainTextAsync("original");
            await Assertions.Expect(page.Locator("input[data-testid=launch-lr], [data-testid=launch-lr] input").First).ToHaveValueAsync("0.004");
            await Assertions.Expect(page.Locator("input[data-testid=launch-name], [data-testid=launch-name] input").First).ToHaveValueAsync("original (copy)");
            await WalkingSkeletonTests.FillAsync(page, "launch-epochs", "2");
            await page.Locator("[data-testid=launch-submit]").ClickAsync();
            await page.WaitForURLAsync(new Regex("/experiments/[0-9a-f-]{36}$"));
        }
        catch (Exception e)
        {
            throw await Explain(page, e);
        }
        var cloneId = Guid.Parse(page.Url.Split('/')[^1]);
        Assert.NotEqual(sourceId, cloneId);
        var clone = await admin.GetFromJsonAsync<JsonElement>($"/api/experiments/{cloneId}");
        Assert.Equal("original (copy)", clone.GetProperty("summary").GetProperty("name").GetString());
        var (a, b) = (source.GetProperty("config"), clone.GetProperty("config"));
        Assert.Equal(1, a.GetProperty("epochs").GetInt32());
        Assert.Equal(2, b.GetProperty("epochs").GetInt32());
        foreach (var property in a.EnumerateObject().Where(p => p.Name != "epochs"))
            Assert.True(property.Value.GetRawText() == b.GetProperty(property.Name).GetRawText(),
                $"{property.Name}: {property.Value.GetRawText()} vs {b.GetProperty(property.Name).GetRawText()}");
        await admin.PostAsync($"/api/experiments/{cloneId}/cancel", null);
    }

    [Fact]
    public async Task LaunchAThreeSeedGroupAndSeeItsMeanAndStd()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await AdminAsync(baseUri);
        var datasetId = await DatasetAsync(admin, "group discs");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await PageAsync(browser, baseUri);
        try
        {
            await page.GotoAsync($"/experiments/new?dataset={datasetId}");
            await WalkingSkeletonTests.InteractiveAsync(page);
            await WalkingSkeletonTests.FillAsync(page, "launch-name", "trio");
            await WalkingSkeletonTests.FillAsync(page, "launch-epochs", "2");
            await WalkingSkeletonTests.FillAsync(page, "launch-warmup", "0");
            await WalkingSkeletonTests.FillAsync(page, "launch-batch", "2");
            await WalkingSkeletonTests.FillAsync(page, "launch-size", "32");
            await WalkingSkeletonTests.FillAsync(page, "launch-time-budget", "0");
            await WalkingSkeletonTests.FillAsync(page, "group-seeds", "1,2,3");
            await page.Locator("[data-testid=group-submit]").ClickAsync();
            await page.WaitForURLAsync(new Regex("/groups/[0-9a-f-]{36}$"));
            await Assertions.Expect(page.Locator("[data-testid=group-member]")).ToHaveCountAsync(3);
            // The page follows the members as they finish, without a reload.
            await Assertions.Expect(page.Locator("[data-testid=group-progress]")).ToContainTextAsync("3 of 3 completed", new() { Timeout = 240_000 });
            await Assertions.Expect(page.Locator("[data-testid=group-mean-bestDice]")).ToHaveTextAsync(new Regex(@"^\d\.\d{3} ± \d\.\d{3}$"));
            await Assertions.Expect(page.Locator("[data-testid=group-mean-finalIoU]")).ToHaveTextAsync(new Regex(@"^\d\.\d{3} ± \d\.\d{3}$"));
        }
        catch (Exception e)
        {
            throw await Explain(page, e);
        }
        var groupId = Guid.Parse(page.Url.Split('/')[^1]);
        var group = await admin.GetFromJsonAsync<JsonElement>($"/api/experiment-groups/{groupId}");
        var best = group.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("metrics").GetProperty("bestDice").GetDouble()).ToList();
        Assert.Equal([1, 2, 3], group.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("seed").GetInt32()));
        var mean = best.Average();
        var std = Math.Sqrt(best.Sum(x => (x - mean) * (x - mean)) / 2);
        await Assertions.Expect(page.Locator("[data-testid=group-mean-bestDice]"))
            .ToHaveTextAsync($"{mean.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)} ± {std.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}");
    }
}
