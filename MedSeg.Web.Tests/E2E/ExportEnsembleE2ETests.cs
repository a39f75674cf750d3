using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>Weights out of the browser and a 2-fold ensemble prediction, in real Chromium over tiny runs.</summary>
[Collection(AppCollection.Name)]
public sealed class ExportEnsembleE2ETests
{
    private static object Tiny(Guid datasetId) => new { datasetId, model = "unext", variant = "s", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 };

    private static async Task<IPage> PageAsync(IBrowser browser, Uri baseUri)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions
            { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 }, AcceptDownloads = true });
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
    public async Task DownloadWeightsFromTheExperimentPage()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await ExperimentGroupE2ETests.AdminAsync(baseUri);
        var datasetId = await ExperimentGroupE2ETests.DatasetAsync(admin, "weights discs");
        var launched = await admin.PostAsJsonAsync("/api/experiments", Tiny(datasetId));
        Assert.True(launched.StatusCode == HttpStatusCode.Accepted, await launched.Content.ReadAsStringAsync());
        var id = (await launched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ExperimentsApiTests.WaitForStatusAsync(admin, id, "Completed", TimeSpan.FromMinutes(3));

        using var dir = new TempDirectory("medseg-e2e-weights");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await PageAsync(browser, baseUri);
        try
        {
            await page.GotoAsync($"/experiments/{id}");
            await WalkingSkeletonTests.InteractiveAsync(page);
            var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("[data-testid=download-weights]").ClickAsync());
            var path = Path.Combine(dir.Path, download.SuggestedFilename);
            await download.SaveAsAsync(path);
            Assert.EndsWith(".zip", download.SuggestedFilename);
            using var zip = ZipFile.OpenRead(path);
            Assert.Equal(["model.dat", "model.json", "model.pt", "model.safetensors"], zip.Entries.Select(e => e.FullName).Order());
        }
        catch (Exception e)
        {
            throw await Explain(page, e);
        }
    }

    [Fact]
    public async Task PredictWithATwoFoldEnsemble()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await ExperimentGroupE2ETests.AdminAsync(baseUri);
        var datasetId = await ExperimentGroupE2ETests.DatasetAsync(admin, "ensemble discs");
        var split = await admin.PostAsJsonAsync($"/api/datasets/{datasetId}/splits", new { kind = "kfold", folds = 2, seed = 3 });
        Assert.True(split.IsSuccessStatusCode, await split.Content.ReadAsStringAsync());
        var splitId = (await split.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var group = await admin.PostAsJsonAsync("/api/experiment-groups", new { @base = Tiny(datasetId), splitId, folds = "all" });
        Assert.True(group.StatusCode == HttpStatusCode.Accepted, await group.Content.ReadAsStringAsync());
        var members = (await group.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("members").EnumerateArray().Select(m => m.GetGuid()).ToList();
        Assert.Equal(2, members.Count);
        foreach (var member in members) await ExperimentsApiTests.WaitForStatusAsync(admin, member, "Completed", TimeSpan.FromMinutes(3));

        using var dir = new TempDirectory("medseg-e2e-ensemble");
        var imagesZip = Path.Combine(dir.Path, "new-images.zip");
        using (var zip = ZipFile.Open(imagesZip, ZipArchiveMode.Create))
        {
            var random = new Random(5);
            for (var i = 0; i < 2; i++) SyntheticDataset.Add(zip, $"new-{i}.png", SyntheticDataset.Case(random, 48, 40).Image);
        }
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await PageAsync(browser, baseUri);
        try
        {
            await page.GotoAsync($"/experiments/{members[0]}/predict");
            await WalkingSkeletonTests.InteractiveAsync(page);
            await page.Locator("[data-testid=predict-ensemble-group]").ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=predict-ensemble-size]")).ToContainTextAsync("2 runs");
            await page.Locator("[data-testid=predict-file]").SetInputFilesAsync(imagesZip);
            await page.Locator("[data-testid=predict-submit]").ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=predict-result]")).ToHaveCountAsync(2, new() { Timeout = 120_000 });
            await Assertions.Expect(page.Locator("[data-testid=predict-run]").First).ToContainTextAsync("ensemble of 2");
            await Assertions.Expect(page.Locator("[data-testid=predict-download]")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        }
        catch (Exception e)
        {
            throw await Explain(page, e);
        }
        var runs = await admin.GetFromJsonAsync<JsonElement>($"/api/experiments/{members[0]}/predictions");
        var run = runs.EnumerateArray().Single();
        Assert.Equal("Completed", run.GetProperty("status").GetString());
        Assert.Equal([members[1]], run.GetProperty("ensemble").EnumerateArray().Select(e => e.GetGuid()));
    }
}
