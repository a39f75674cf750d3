using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>An upload with bad cases in Chromium: the report waits, grouped by kind with its CSV; the user stores the valid
/// cases without the bad ones and the dataset holds exactly those. Set MEDSEG_SCREENSHOTS to keep screenshots (docs/).</summary>
[Collection(AppCollection.Name)]
public sealed class UploadReviewTests
{
    [Fact]
    public async Task AnUploadWithBadCasesIsStoredWithoutThemAfterTheUserSaysSo()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var data = new TempDirectory();
        var zipPath = Path.Combine(data.Path, "scans.zip");
        await File.WriteAllBytesAsync(zipPath, SyntheticDataset.Zip(12, 64, seed: 5, tamper: zip =>
        {
            for (var i = 0; i < 3; i++)
                SyntheticDataset.Add(zip, $"images/unlabelled-{i}.png", SyntheticDataset.Case(new Random(i), 64, 64).Image);
            SyntheticDataset.Add(zip, "images/odd.png", SyntheticDataset.Case(new Random(7), 64, 64).Image);
            SyntheticDataset.Add(zip, "masks/odd.png", SyntheticDataset.Case(new Random(8), 48, 64).Mask);
        }));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        await WalkingSkeletonTests.SignInAsync(page);

        await page.GotoAsync("/datasets");
        await WalkingSkeletonTests.InteractiveAsync(page);
        await page.Locator("[data-testid=upload-name] input, input[data-testid=upload-name]").First.FillAsync("scans");
        await page.Locator("[data-testid=upload-file]").SetInputFilesAsync(zipPath);
        await page.Locator("[data-testid=upload-submit]").ClickAsync();

        // Held for a decision: the valid count, the problems grouped by kind, the CSV.
        var review = page.Locator("[data-testid=upload-review]");
        await Assertions.Expect(review).ToBeVisibleAsync();
        await Assertions.Expect(review).ToContainTextAsync("12 valid cases");
        Assert.True(await page.Locator("[data-testid=upload-error-group]").CountAsync() >= 2);
        Assert.Equal(4, await page.Locator("[data-testid=upload-error]").CountAsync()); // 3 without a mask, 1 size mismatch
        var csvHref = await page.Locator("[data-testid=upload-report-csv]").GetAttributeAsync("href");
        var csv = await page.APIRequest.GetAsync(csvHref!);
        Assert.Contains("unlabelled-0.png", await csv.TextAsync());
        await WalkingSkeletonTests.ShotAsync(page, "upload-report");

        await page.Locator("[data-testid=upload-admit]").ClickAsync();
        var stored = page.Locator("[data-testid=upload-stored]");
        await Assertions.Expect(stored).ToContainTextAsync("Stored 12 cases");
        await Assertions.Expect(page.Locator("[data-testid=upload-errors]")).ToContainTextAsync("Left out");
        await stored.GetByRole(AriaRole.Link, new() { Name = "Open the dataset" }).ClickAsync();
        await page.WaitForURLAsync(new Regex("/datasets/[0-9a-f-]{36}$"));
        await Assertions.Expect(page.Locator("[data-testid=case-count]")).ToHaveTextAsync("12 cases");
        await page.Locator("[data-testid=case-browser]").ScrollIntoViewIfNeededAsync(); // rows load when the grid is in view
        await Assertions.Expect(page.Locator("[data-testid=dataset-thumbnail]")).ToHaveCountAsync(12);
        await WalkingSkeletonTests.WaitForImagesAsync(page, "[data-testid=dataset-thumbnail]");
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await WalkingSkeletonTests.ShotAsync(page, "dataset-browse");
    }
}
