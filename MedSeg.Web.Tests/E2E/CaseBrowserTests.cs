using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>The case grid at 10 000 cases in Chromium: only the rows in view are in the page, scrolling reaches the last
/// case, filters narrow it, and the viewer walks the grid's order with the keyboard.</summary>
[Collection(AppCollection.Name)]
public sealed class CaseBrowserTests
{
    [Fact]
    public async Task TenThousandCasesScrollFilterAndOpenInTheViewer()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = new HttpClient { BaseAddress = baseUri };
        var token = await admin.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        var upload = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload("big", SyntheticDataset.Zip(4, 32)));
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        // 10 000 cases: rows that reuse the four uploaded files (the grid only needs rows and renditions).
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            var template = await db.DatasetCases.AsNoTracking().Where(c => c.DatasetId == datasetId).OrderBy(c => c.Name).ToListAsync();
            for (var i = 0; i < 9_996; i++)
            {
                var t = template[i % 4];
                db.DatasetCases.Add(new DatasetCase
                {
                    Id = Guid.NewGuid(), DatasetId = datasetId, Name = $"slice-{i:D5}", ImagePath = t.ImagePath, MaskPath = t.MaskPath,
                    Width = t.Width, Height = t.Height, ForegroundFraction = i % 10 == 0 ? 0 : t.ForegroundFraction,
                    ImageSha256 = t.ImageSha256, MaskSha256 = t.MaskSha256, LabelsPresent = i % 10 == 0 ? 1 : 3,
                    GroupKey = $"vol-{i / 100:D3}", SliceIndex = i % 100,
                });
            }
            await db.SaveChangesAsync();
            await db.Datasets.Where(d => d.Id == datasetId).ExecuteUpdateAsync(u => u.SetProperty(d => d.CaseCount, 10_000));
        }

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        await WalkingSkeletonTests.SignInAsync(page);

        await page.GotoAsync($"/datasets/{datasetId}");
        await WalkingSkeletonTests.InteractiveAsync(page);
        await Assertions.Expect(page.Locator("[data-testid=case-count]")).ToHaveTextAsync("10,000 cases");
        await page.Locator("[data-testid=case-browser]").ScrollIntoViewIfNeededAsync(); // rows load when the grid is in view
        await Assertions.Expect(page.Locator("[data-testid=dataset-thumbnail]").First).ToBeVisibleAsync();
        var rendered = await page.Locator("[data-testid=dataset-thumbnail]").CountAsync();
        Assert.InRange(rendered, 1, 400); // only the rows in view and a few beyond

        // Scrolling to the end renders the last rows: the last case by name is there, and the page still holds few tiles.
        for (var i = 0; i < 40 && !await page.Locator("button.case-tile[title^='slice-09995 ']").IsVisibleAsync(); i++)
        {
            await page.EvaluateAsync("() => window.scrollTo(0, document.body.scrollHeight)");
            await page.WaitForTimeoutAsync(150);
        }
        await Assertions.Expect(page.Locator("button.case-tile[title^='slice-09995 ']")).ToBeVisibleAsync();
        Assert.InRange(await page.Locator("[data-testid=dataset-thumbnail]").CountAsync(), 1, 400);

        // Empty masks only: every tenth generated slice.
        await page.Locator("[data-testid=case-filters]").ScrollIntoViewIfNeededAsync();
        await page.Locator("[data-testid=filter-mask]").ClickAsync();
        await page.GetByRole(AriaRole.Option, new() { Name = "empty" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=case-count]")).ToHaveTextAsync("1,000 of 10,000 cases");

        // The viewer opens the first one and walks the filtered order with the arrow keys.
        await page.Locator("button.case-tile").First.ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=viewer-name]")).ToHaveTextAsync("slice-00000");
        await Assertions.Expect(page.Locator("[data-testid=viewer-position]")).ToHaveTextAsync("1 of 1,000");
        await page.Locator("[data-testid=viewer-next]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=viewer-name]")).ToHaveTextAsync("slice-00010");
        await page.Locator("[data-testid=viewer-previous]").ClickAsync();
        await Assertions.Expect(page.Locator("[data-testid=viewer-name]")).ToHaveTextAsync("slice-00000");
        await page.Locator("[data-testid=case-viewer]").FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await Assertions.Expect(page.Locator("[data-testid=viewer-name]")).ToHaveTextAsync("slice-00010");
        await page.Keyboard.PressAsync("ArrowLeft");
        await Assertions.Expect(page.Locator("[data-testid=viewer-name]")).ToHaveTextAsync("slice-00000");
        await Assertions.Expect(page.Locator("[data-testid=viewer-image]")).ToBeVisibleAsync();
    }
}
