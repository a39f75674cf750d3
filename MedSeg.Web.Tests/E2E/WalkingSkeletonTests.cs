using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>
/// The thin path in real Chromium: sign in, upload a generated zip, launch a short experiment, watch progress and
/// previews arrive without reloading, open the review and see image, ground truth and prediction per case.
/// Set MEDSEG_SCREENSHOTS to a folder to keep screenshots of each step (docs/screenshots are made this way).
/// </summary>
[Collection(AppCollection.Name)]
public sealed class WalkingSkeletonTests
{
    private static readonly string? ScreenshotDir = Environment.GetEnvironmentVariable("MEDSEG_SCREENSHOTS");

    internal static async Task<IBrowser> LaunchChromiumAsync(IPlaywright playwright) =>
        await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("MEDSEG_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"],
        });

    internal static async Task ShotAsync(IPage page, string name)
    {
        if (string.IsNullOrEmpty(ScreenshotDir)) return;
        Directory.CreateDirectory(ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true });
    }

    [Fact]
    public async Task SignInUploadTrainWatchAndReview()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var data = new TempDirectory();
        var zipPath = Path.Combine(data.Path, "discs.zip");
        await File.WriteAllBytesAsync(zipPath, SyntheticDataset.Zip(20, 128, seed: 3));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var csp = CspViolations.Watch(page);

        try
        {
            await WalkAsync(page, zipPath);
            // The uploads (XHR with Origin), the live circuit and every image worked under the Content-Security-Policy.
            csp.AssertNone();
        }
        catch (Exception e)
        {
            var shot = Path.Combine(ScreenshotDir ?? Path.GetTempPath(), $"medseg-e2e-failure-{DateTime.UtcNow:HHmmss}.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            var text = await page.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; screenshot {shot}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
        }
    }

    private static async Task WalkAsync(IPage page, string zipPath)
    {
        // Sign in (the unauthenticated start page redirects to the sign-in form).
        await page.GotoAsync("/");
        await page.WaitForURLAsync(new Regex("/account/login"));
        await page.FillAsync("#email", MedSegAppFactory.AdminEmail);
        await page.FillAsync("#password", MedSegAppFactory.AdminPassword);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Regex("/$"));

        // Upload a generated zip, with a progress bar; the dataset page shows thumbnails with the mask overlaid.
        await page.GotoAsync("/datasets");
        await InteractiveAsync(page);
        await page.Locator("[data-testid=upload-name] input, input[data-testid=upload-name]").First.FillAsync("discs");
        await page.Locator("[data-testid=upload-file]").SetInputFilesAsync(zipPath);
        await page.Locator("[data-testid=upload-submit]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/datasets/[0-9a-f-]{36}$"), new() { Timeout = 60_000 });
        await page.Locator("[data-testid=case-browser]").ScrollIntoViewIfNeededAsync(); // rows load when the grid is in view
        await Assertions.Expect(page.Locator("[data-testid=dataset-thumbnail]")).ToHaveCountAsync(20);
        await WaitForImagesAsync(page, "[data-testid=dataset-thumbnail]");
        await ShotAsync(page, "dataset");

        // Launch a 3-epoch experiment from the form.
        await page.Locator("[data-testid=new-experiment]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/experiments/new"));
        await InteractiveAsync(page);
        await FillAsync(page, "launch-epochs", "3");
        await FillAsync(page, "launch-batch", "4");
        await FillAsync(page, "launch-size", "128");
        await FillAsync(page, "launch-lr", "0.003");
        await ShotAsync(page, "launch");
        await page.Locator("[data-testid=launch-submit]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/experiments/[0-9a-f-]{36}$"));
        // A marker in the page's JavaScript state: a reload would lose it.
        await page.EvaluateAsync("() => window.medsegNoReload = true");

        // Progress and previews arrive without reloading.
        var rows = page.Locator("[data-testid=epoch-row]");
        var rowsAtStart = await rows.CountAsync();
        Assert.True(rowsAtStart < 3, "The run finished before the page connected; live updates could not be observed.");
        await Assertions.Expect(page.Locator("[data-testid=batch-progress]")).ToContainTextAsync(new Regex(@"batch \d+/\d+"), new() { Timeout = 60_000 });
        var preview = page.Locator("[data-testid=preview-image]").First;
        await Assertions.Expect(preview).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var firstSrc = await preview.GetAttributeAsync("src");
        await Assertions.Expect(rows).ToHaveCountAsync(3, new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("[data-testid=experiment-status]")).ToContainTextAsync("Completed", new() { Timeout = 120_000 });
        Assert.NotEqual(firstSrc, await preview.GetAttributeAsync("src"));
        Assert.True(await page.EvaluateAsync<bool>("() => window.medsegNoReload === true"), "The experiment page reloaded.");
        await WaitForImagesAsync(page, "[data-testid=preview-image]");
        await ShotAsync(page, "experiment");

        // Review: three images (plus the overlay) per case, worst first.
        await page.Locator("[data-testid=review-link]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/review$"));
        await Assertions.Expect(page.Locator("[data-testid=review-row]")).ToHaveCountAsync(4);
        foreach (var pane in new[] { "pane-image", "pane-truth", "pane-prediction" })
        {
            await Assertions.Expect(page.Locator($"[data-testid={pane}]")).ToBeVisibleAsync();
        }
        // The panes are canvases: the viewer marks itself ready once it has drawn the image and both masks.
        await page.Locator("[data-testid=review-viewer][data-ready=true]").WaitForAsync(new() { Timeout = 60_000 });
        await ShotAsync(page, "review");

        // Predict new images with the trained model: upload a zip, get masks back.
        await page.GoBackAsync();
        await page.WaitForURLAsync(new Regex("/experiments/[0-9a-f-]{36}$"));
        await InteractiveAsync(page);
        await page.Locator("[data-testid=predict-link]").ClickAsync();
        await page.WaitForURLAsync(new Regex("/predict$"));
        await InteractiveAsync(page);
        var imagesZip = Path.Combine(Path.GetDirectoryName(zipPath)!, "new-images.zip");
        using (var zip = System.IO.Compression.ZipFile.Open(imagesZip, System.IO.Compression.ZipArchiveMode.Create))
        {
            var random = new Random(11);
            for (var i = 0; i < 3; i++) SyntheticDataset.Add(zip, $"new-{i}.png", SyntheticDataset.Case(random, 96, 80).Image);
        }
        await page.Locator("[data-testid=predict-file]").SetInputFilesAsync(imagesZip);
        await page.Locator("[data-testid=predict-submit]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=predict-result]")).ToHaveCountAsync(3, new() { Timeout = 120_000 });
        await Assertions.Expect(page.Locator("[data-testid=predict-download]")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await WaitForImagesAsync(page, "[data-testid=predict-result]");
        await ShotAsync(page, "predict");
    }

    /// <summary>Waits for the Blazor circuit: before it, the prerendered inputs are replaced and typed values lost.</summary>
    /// <summary>Signs in as the factory's admin through the sign-in form.</summary>
    internal static async Task SignInAsync(IPage page)
    {
        await page.GotoAsync("/account/login");
        await page.FillAsync("#email", MedSegAppFactory.AdminEmail);
        await page.FillAsync("#password", MedSegAppFactory.AdminPassword);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Regex("/$"));
    }

    internal static Task InteractiveAsync(IPage page) =>
        page.Locator("#medseg-interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });

    internal static async Task FillAsync(IPage page, string testId, string value)
    {
        var input = page.Locator($"input[data-testid={testId}], [data-testid={testId}] input").First;
        await input.FillAsync(value);
        await input.BlurAsync();
    }

    /// <summary>Waits until every matching img has loaded a real picture (naturalWidth > 0).</summary>
    internal static async Task WaitForImagesAsync(IPage page, string selector) =>
        await page.WaitForFunctionAsync(
            "sel => { const imgs = [...document.querySelectorAll(sel)]; return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }",
            selector, new() { Timeout = 60_000 });
}
