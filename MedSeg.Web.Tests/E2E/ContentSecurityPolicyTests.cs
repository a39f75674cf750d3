using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>The pages and the Hangfire dashboard work in real Chromium under the app's Content-Security-Policy: nothing is
/// blocked (Chromium reports every violation on the console) and the interactive circuit starts.</summary>
[Collection(AppCollection.Name)]
public sealed class ContentSecurityPolicyTests
{
    [Fact]
    public async Task PagesAndTheJobsDashboardRunWithoutCspViolations()
    {
        var (factory, baseUri) = KestrelApp.Start(new() { ["MedSeg:Jobs:RunServer"] = "false" });
        using var _ = factory;
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString() });
        page.SetDefaultTimeout(30_000);
        var csp = CspViolations.Watch(page);

        await page.GotoAsync("/account/login");
        await page.FillAsync("#email", MedSegAppFactory.AdminEmail);
        await page.FillAsync("#password", MedSegAppFactory.AdminPassword);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Regex("/$"));
        foreach (var path in new[] { "/", "/datasets", "/experiments", "/experiments/new" })
        {
            await page.GotoAsync(path);
            // The circuit is up: blazor.web.js, MudBlazor's script, the WebSocket and the import map all passed the policy.
            await page.Locator("#medseg-interactive").WaitForAsync(new() { State = WaitForSelectorState.Attached });
        }
        foreach (var path in new[] { "/jobs", "/jobs/jobs/succeeded", "/jobs/servers" })
        {
            await page.GotoAsync(path);
            await Assertions.Expect(page.Locator(".navbar-brand")).ToContainTextAsync("MedSeg jobs");
        }
        await page.WaitForTimeoutAsync(1500); // the dashboard's polling and charts run once
        csp.AssertNone();
    }

    /// <summary>The API reference page (Scalar) runs under the policy from the app's own assets: it lists the endpoints.</summary>
    [Fact]
    public async Task TheApiReferenceListsTheEndpointsWithoutCspViolations()
    {
        var (factory, baseUri) = KestrelApp.Start(new() { ["MedSeg:Jobs:RunServer"] = "false" });
        using var _ = factory;
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString() });
        page.SetDefaultTimeout(30_000);
        var csp = CspViolations.Watch(page);
        var elsewhere = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(baseUri.GetLeftPart(UriPartial.Authority), StringComparison.Ordinal) && !request.Url.StartsWith("data:")) lock (elsewhere) elsewhere.Add(request.Url);
        };

        // Signed out: sent to sign in, and back to the reference afterwards.
        await page.GotoAsync("/api/reference");
        await page.WaitForURLAsync(new Regex("/account/login"));
        await page.FillAsync("#email", MedSegAppFactory.AdminEmail);
        await page.FillAsync("#password", MedSegAppFactory.AdminPassword);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Regex("/api/reference"));
        // Every tag open: the experiments' operations are listed by path in the sidebar, from the app's OpenAPI document.
        await Assertions.Expect(page.Locator("a[href='#tag/experiments/GET/api/experiments/{id}']").First).ToBeVisibleAsync(new() { Timeout = 20_000 });
        await Assertions.Expect(page.Locator("a[href='#tag/datasets/GET/api/datasets']").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("MedSeg API", new() { Exact = false }).First).ToBeVisibleAsync();
        await page.WaitForTimeoutAsync(1000);
        csp.AssertNone();
        Assert.True(elsewhere.Count == 0, "The reference loaded from another origin:\n" + string.Join("\n", elsewhere));
    }
}
