using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>The bell in Chromium: a page left open hears a run end (launched by a script meanwhile) without a reload: the
/// badge counts it, the menu lists it linking to the run, "mark all read" clears the badge.</summary>
[Collection(AppCollection.Name)]
public sealed class NotificationBellTests
{
    [Fact]
    public async Task ARunThatEndsAppearsInTheBellWithoutAReload()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = new HttpClient { BaseAddress = baseUri };
        var token = await admin.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var csp = CspViolations.Watch(page);
        var console = new List<string>();
        page.Console += (_, m) => console.Add($"{m.Type}: {m.Text}");
        try
        {
            await WalkAsync(page, admin, csp);
        }
        catch (Exception e)
        {
            var text = await page.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; console:\n{string.Join("\n", console.TakeLast(20))}\npage text:\n{text[..Math.Min(text.Length, 1500)]}");
        }
    }

    private static async Task WalkAsync(IPage page, HttpClient admin, CspViolations csp)
    {
        await WalkingSkeletonTests.SignInAsync(page);
        await page.GotoAsync("/datasets");
        await WalkingSkeletonTests.InteractiveAsync(page);
        var bell = page.Locator("[data-testid=notification-bell]");
        await Assertions.Expect(bell).ToHaveAttributeAsync("data-unread", "0");

        var upload = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload("bell discs", SyntheticDataset.Zip(6, 32)));
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await admin.PostAsJsonAsync("/api/experiments",
            new { datasetId, name = "bell run", model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // The run ends while the page stays open: the badge counts it, live.
        await Assertions.Expect(bell).ToHaveAttributeAsync("data-unread", "1", new() { Timeout = 180_000 });
        await Assertions.Expect(page.Locator(".notification-badge")).ToContainTextAsync("1");
        await bell.ClickAsync();
        var item = page.Locator("[data-testid=notification-item]").First;
        await Assertions.Expect(item).ToContainTextAsync("bell run completed");
        await Assertions.Expect(item).ToHaveAttributeAsync("href", $"/experiments/{id}");
        await Assertions.Expect(item).ToHaveAttributeAsync("data-read", "false");
        await WalkingSkeletonTests.ShotAsync(page, "notification-bell");

        await page.Locator("[data-testid=notification-read-all]").ClickAsync();
        await Assertions.Expect(bell).ToHaveAttributeAsync("data-unread", "0");
        await Assertions.Expect(item).ToHaveAttributeAsync("data-read", "true");

        // The link opens the run.
        await item.ClickAsync();
        await page.WaitForURLAsync($"**/experiments/{id}");
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync("bell run");
        csp.AssertNone();
    }
}
