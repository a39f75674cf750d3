using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>
/// The queue page in real Chromium, on a web-only node (no training worker: every run stays queued). The admin queues two runs
/// and a member one; the member's page shows the three in the fair order (admin, member, admin) with positions, a Cancel button
/// on the member's own run only, and Cancel there cancels it: the row goes and the positions close up.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class QueuePageTests
{
    private static async Task<HttpClient> TokenClientAsync(Uri baseUri, string email, string password)
    {
        var client = new HttpClient { BaseAddress = baseUri };
        var token = await client.PostAsJsonAsync("/api/tokens", new { email, password });
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        return client;
    }

    private static async Task<Guid> LaunchAsync(HttpClient client, Guid datasetId, string name)
    {
        var response = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.003, name });
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    private static async Task<Guid> DatasetAsync(HttpClient client)
    {
        var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(4, 32)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        return (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }

    [Fact]
    public async Task QueuePageShowsPositionsInTheFairOrderAndCancelsTheMembersOwnQueuedRun()
    {
        var (factory, baseUri) = KestrelApp.Start(new() { ["MedSeg:Jobs:RunServer"] = "false" });
        using var _ = factory;
        using var admin = await TokenClientAsync(baseUri, MedSegAppFactory.AdminEmail, MedSegAppFactory.AdminPassword);
        const string email = "mia@lab.test";
        var created = await admin.PostAsJsonAsync("/api/users", new { email, displayName = "Mia", role = "Member", password = Accounts.Password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var mia = await TokenClientAsync(baseUri, email, Accounts.Password);
        var adminData = await DatasetAsync(admin);
        var miaData = await DatasetAsync(mia);
        var q1 = await LaunchAsync(admin, adminData, "admin-first");
        var q2 = await LaunchAsync(admin, adminData, "admin-second");
        var m1 = await LaunchAsync(mia, miaData, "mia-run");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type is "error" or "warning") errors.Add(m.Text); };
        try
        {
            await page.GotoAsync("/account/login");
            await page.FillAsync("#email", email);
            await page.FillAsync("#password", Accounts.Password);
            await page.ClickAsync("#sign-in");
            await page.WaitForURLAsync(new Regex("/$"));
            await WalkingSkeletonTests.InteractiveAsync(page);
            await page.Locator("[data-testid=nav-queue]").ClickAsync();
            await page.WaitForURLAsync(new Regex("/queue$"));
            await Assertions.Expect(page.Locator("h4", new() { HasText = "Training queue" })).ToBeVisibleAsync(new() { Timeout = 30_000 });
            await WalkingSkeletonTests.InteractiveAsync(page);

            // Fair order: the admin's first run, then Mia's (nobody runs; the admin would then have one), then the admin's second.
            var rows = page.Locator("[data-testid=queue-table] tbody tr");
            await Assertions.Expect(rows).ToHaveCountAsync(3, new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("[data-testid=queue-position]")).ToHaveTextAsync(["1", "2", "3"]);
            await Assertions.Expect(page.Locator("[data-testid=queue-owner]")).ToHaveTextAsync([MedSegAppFactory.AdminEmail, "You", MedSegAppFactory.AdminEmail]);
            await Assertions.Expect(rows.Nth(1).Locator("[data-testid=queue-name]")).ToHaveTextAsync("mia-run");
            await Assertions.Expect(rows.Nth(0)).ToContainTextAsync("(not shared with you)");
            await Assertions.Expect(page.Locator("[data-testid=queue-eta]").First).ToHaveTextAsync("unknown");
            // Only her own run has a Cancel button.
            await Assertions.Expect(page.Locator("[data-testid=queue-cancel]")).ToHaveCountAsync(1);
            await WalkingSkeletonTests.ShotAsync(page, "queue");

            await rows.Nth(1).Locator("[data-testid=queue-cancel]").ClickAsync();
            await Assertions.Expect(page.Locator("[data-testid=queue-message]")).ToContainTextAsync("Cancelled mia-run", new() { Timeout = 30_000 });
            await Assertions.Expect(rows).ToHaveCountAsync(2);
            await Assertions.Expect(page.Locator("[data-testid=queue-position]")).ToHaveTextAsync(["1", "2"]);
            await Assertions.Expect(page.Locator("[data-testid=queue-cancel]")).ToHaveCountAsync(0);
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            errors.Add(await page.Locator("#blazor-error-ui").IsVisibleAsync() ? "blazor-error-ui visible" : "no blazor error ui");
            var text = await page.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {page.Url}; console: {string.Join(" | ", errors)}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
        }
        var status = await mia.GetFromJsonAsync<JsonElement>($"/api/experiments/{m1}");
        Assert.Equal("Cancelled", status.GetProperty("summary").GetProperty("status").GetString());
        foreach (var id in new[] { q1, q2 })
        {
            var e = await admin.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");
            Assert.Equal("Queued", e.GetProperty("summary").GetProperty("status").GetString());
        }
    }
}
