using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>A launch with an invalid field is refused in the browser with the field's message, by the form's rules (the
/// engine's one check) and by the server's (memory admission), nothing is launched, and the corrected form launches.</summary>
[Collection(AppCollection.Name)]
public sealed class LaunchValidationTests
{
    [Fact]
    public async Task AnInvalidFieldIsRefusedNamingItAndTheCorrectedFormLaunches()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = await ExperimentGroupE2ETests.AdminAsync(baseUri);
        var datasetId = await ExperimentGroupE2ETests.DatasetAsync(admin, "refusal discs");
        async Task<int> ExperimentCountAsync() =>
            (await admin.GetFromJsonAsync<JsonElement>("/api/experiments")).EnumerateArray().Count();
        var before = await ExperimentCountAsync();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var csp = CspViolations.Watch(page);
        try
        {
            await WalkingSkeletonTests.SignInAsync(page);
            await page.GotoAsync($"/experiments/new?dataset={datasetId}");
            await WalkingSkeletonTests.InteractiveAsync(page);

            // The form's rule: UNeXt needs a multiple of 32; the message names the field's valid neighbours, nothing launches.
            await WalkingSkeletonTests.FillAsync(page, "launch-size", "100");
            await WalkingSkeletonTests.FillAsync(page, "launch-epochs", "3"); // above the suggested 2 warm-up epochs
            await page.Locator("[data-testid=launch-submit]").ClickAsync();
            await Assertions.Expect(page.GetByText("Image size must be a multiple of 32 for unext: try 96 or 128.")).ToBeVisibleAsync();
            Assert.Matches(new Regex("/experiments/new"), page.Url);
            // The suggestions say which fields the user changed, with the suggested value.
            await Assertions.Expect(page.Locator("[data-testid=suggestions-changed]")).ToContainTextAsync(
                new Regex(@"You changed 2 fields from the suggestion: .*Image size 100 px \(suggested 32 px\)"));

            // The server's rule: a batch and size that do not fit this server's memory are refused under the batch field.
            await WalkingSkeletonTests.FillAsync(page, "launch-size", "2048");
            await WalkingSkeletonTests.FillAsync(page, "launch-batch", "256");
            await page.Locator("[data-testid=launch-submit]").ClickAsync();
            await Assertions.Expect(page.GetByText(new Regex("with batch size 256 needs about .* more than the .* one run may use here"))).ToBeVisibleAsync();
            Assert.Matches(new Regex("/experiments/new"), page.Url);
            Assert.Equal(before, await ExperimentCountAsync());

            // Corrected, it launches.
            await WalkingSkeletonTests.FillAsync(page, "launch-size", "32");
            await WalkingSkeletonTests.FillAsync(page, "launch-batch", "2");
            await page.Locator("[data-testid=launch-submit]").ClickAsync();
            await page.WaitForURLAsync(new Regex("/experiments/[0-9a-f-]{36}$"));
            Assert.Equal(before + 1, await ExperimentCountAsync());
            csp.AssertNone();
            // The run finishes before the app stops (a host stopping mid-run times out its job servers).
            await ExperimentsApiTests.WaitForStatusAsync(admin, Guid.Parse(page.Url[^36..]), "Completed", TimeSpan.FromMinutes(3));
        }
        catch (Exception e)
        {
            var text = await page.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
        }
    }
}
