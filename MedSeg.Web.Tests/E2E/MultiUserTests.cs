using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>
/// Several people in real Chromium, each in their own browser context: an admin creates two members; the first uploads
/// and shares a dataset; the second sees it as shared, launches an experiment on it and cannot delete it; the admin
/// disables the second member, whose open page and token stop working; deleting the experiment frees its folder.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class MultiUserTests
{
    [Fact]
    public async Task AdminInvitesMembersWhoShareAndADisabledMemberIsLockedOut()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var data = new TempDirectory();
        var zipPath = Path.Combine(data.Path, "shared-discs.zip");
        await File.WriteAllBytesAsync(zipPath, SyntheticDataset.Zip(8, 64, seed: 5));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        async Task<IPage> PersonAsync()
        {
            var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(30_000);
            return page;
        }
        var admin = await PersonAsync();
        var ana = await PersonAsync();
        var bruno = await PersonAsync();
        var current = admin;
        try
        {
            // The admin creates two members and reads each one-time password off the page.
            await SignInAsync(admin, MedSegAppFactory.AdminEmail, MedSegAppFactory.AdminPassword);
            var anaPassword = await CreateMemberAsync(admin, "ana@lab.test", "Ana Lima");
            var brunoPassword = await CreateMemberAsync(admin, "bruno@lab.test", "Bruno Costa");
            await admin.Locator("tr", new() { Has = admin.Locator("[data-testid=user-email]", new() { HasText = "bruno@lab.test" }) })
                .Locator("[data-testid=user-quotas]").ClickAsync();
            await admin.Locator("[data-testid=quota-jobs] input, input[data-testid=quota-jobs]").First.FillAsync("2");
            await admin.Locator("[data-testid=quota-save]").ClickAsync();
            await Assertions.Expect(admin.Locator("tr", new() { HasText = "bruno@lab.test" })).ToContainTextAsync("2 jobs");
            await ShotAsync(admin, "users");

            // Ana uploads a dataset and shares it with Bruno.
            current = ana;
            await SignInAsync(ana, "ana@lab.test", anaPassword);
            await ana.GotoAsync("/datasets");
            await InteractiveAsync(ana);
            await ana.Locator("[data-testid=upload-name] input, input[data-testid=upload-name]").First.FillAsync("shared discs");
            await ana.Locator("[data-testid=upload-file]").SetInputFilesAsync(zipPath);
            await ana.Locator("[data-testid=upload-submit]").ClickAsync();
            await ana.WaitForURLAsync(new Regex("/datasets/[0-9a-f-]{36}$"), new() { Timeout = 60_000 });
            var datasetUrl = new Uri(ana.Url).AbsolutePath;
            await InteractiveAsync(ana);
            await Assertions.Expect(ana.Locator("[data-testid=share-none]")).ToBeVisibleAsync();
            await ana.Locator("[data-testid=share-panel] .mud-select").First.ClickAsync();
            await ana.Locator(".mud-popover-open .mud-list-item", new() { HasText = "Bruno Costa" }).ClickAsync();
            await ana.Locator("[data-testid=share-add]").ClickAsync();
            await Assertions.Expect(ana.Locator("[data-testid=share-with]")).ToHaveTextAsync("Bruno Costa");
            await ShotAsync(ana, "dataset-shared");

            // Bruno sees it as shared by Ana, cannot delete it, and launches his own experiment on it.
            current = bruno;
            await SignInAsync(bruno, "bruno@lab.test", brunoPassword);
            await bruno.GotoAsync("/datasets");
            await Assertions.Expect(bruno.Locator("[data-testid=owner-chip]")).ToHaveTextAsync("Shared by Ana Lima");
            await ShotAsync(bruno, "datasets-shared-with-me");
            await bruno.GotoAsync(datasetUrl);
            await InteractiveAsync(bruno);
            await bruno.Locator("[data-testid=case-browser]").ScrollIntoViewIfNeededAsync(); // rows load when the grid is in view
            await Assertions.Expect(bruno.Locator("[data-testid=dataset-thumbnail]")).ToHaveCountAsync(8);
            await Assertions.Expect(bruno.Locator("[data-testid=dataset-delete]")).ToHaveCountAsync(0);
            await Assertions.Expect(bruno.Locator("[data-testid=share-panel]")).ToHaveCountAsync(0);
            await bruno.Locator("[data-testid=new-experiment]").ClickAsync();
            await bruno.WaitForURLAsync(new Regex("/experiments/new"));
            await InteractiveAsync(bruno);
            await FillAsync(bruno, "launch-epochs", "30");
            await FillAsync(bruno, "launch-batch", "2");
            await FillAsync(bruno, "launch-size", "64");
            await bruno.Locator("[data-testid=launch-submit]").ClickAsync();
            await bruno.WaitForURLAsync(new Regex("/experiments/[0-9a-f-]{36}$"));
            var experimentId = Guid.Parse(new Uri(bruno.Url).AbsolutePath.Split('/')[^1]);
            await InteractiveAsync(bruno);
            await Assertions.Expect(bruno.Locator("[data-testid=owner-chip]")).ToHaveTextAsync("You");

            // Bruno makes a token for a script of his.
            await bruno.GotoAsync("/account/tokens");
            await InteractiveAsync(bruno);
            await bruno.Locator("[data-testid=token-name] input, input[data-testid=token-name]").First.FillAsync("laptop");
            await bruno.Locator("[data-testid=token-create]").ClickAsync();
            var secret = (await bruno.Locator("[data-testid=token-secret]").InnerTextAsync()).Trim();
            await Assertions.Expect(bruno.Locator("[data-testid=token-row-name]")).ToHaveTextAsync("laptop");
            await ShotAsync(bruno, "tokens");
            using var script = new HttpClient { BaseAddress = baseUri };
            script.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            Assert.Equal(HttpStatusCode.OK, (await script.GetAsync("/api/experiments")).StatusCode);

            // With his experiment open, the admin disables him: the open page signs out, the token stops.
            await bruno.GotoAsync($"/experiments/{experimentId}");
            await InteractiveAsync(bruno);
            current = admin;
            await admin.GotoAsync("/users");
            await InteractiveAsync(admin);
            var row = admin.Locator("tr", new() { Has = admin.Locator("[data-testid=user-email]", new() { HasText = "bruno@lab.test" }) });
            await row.Locator("[data-testid=user-toggle]").ClickAsync();
            await Assertions.Expect(row).ToContainTextAsync("Disabled");
            current = bruno;
            await bruno.WaitForURLAsync(new Regex("/account/login"), new() { Timeout = 30_000 });
            Assert.Equal(HttpStatusCode.Unauthorized, (await script.GetAsync("/api/experiments")).StatusCode);

            // Deleting the experiment (the admin may) frees its folder.
            current = admin;
            var folder = Path.Combine(factory.DataRoot, "experiments", experimentId.ToString("N"));
            await admin.GotoAsync($"/experiments/{experimentId}");
            await InteractiveAsync(admin);
            await admin.Locator("[data-testid=experiment-delete]").ClickAsync();
            await Assertions.Expect(admin.Locator("[data-testid=delete-summary]")).ToBeVisibleAsync();
            await admin.Locator("[data-testid=delete-confirm]").ClickAsync();
            await admin.WaitForURLAsync(new Regex("/experiments$"), new() { Timeout = 60_000 });
            await Assertions.Expect(admin.Locator(".mud-snackbar")).ToContainTextAsync("freed");
            Assert.False(Directory.Exists(folder), $"{folder} is still there");
            await admin.GotoAsync("/audit");
            await Assertions.Expect(admin.Locator("[data-testid=audit-row-action]", new() { HasText = "experiment.delete" })).ToHaveCountAsync(1);
            await ShotAsync(admin, "audit");
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            var shot = Path.Combine(Path.GetTempPath(), $"medseg-e2e-multiuser-{DateTime.UtcNow:HHmmss}.png");
            await current.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            var text = await current.InnerTextAsync("body");
            throw new Xunit.Sdk.XunitException($"{e.Message}\nAt {current.Url}; screenshot {shot}; page text:\n{text[..Math.Min(text.Length, 2000)]}");
        }
    }

    private static readonly string? ScreenshotDir = Environment.GetEnvironmentVariable("MEDSEG_SCREENSHOTS");

    private static async Task ShotAsync(IPage page, string name)
    {
        if (string.IsNullOrEmpty(ScreenshotDir)) return;
        Directory.CreateDirectory(ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDir, name + ".png"), FullPage = true });
    }

    private static async Task SignInAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/account/login");
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", password);
        await page.ClickAsync("#sign-in");
        await page.WaitForURLAsync(new Regex("/$"));
    }

    private static async Task<string> CreateMemberAsync(IPage admin, string email, string name)
    {
        await admin.GotoAsync("/users");
        await InteractiveAsync(admin);
        await admin.Locator("[data-testid=new-user-email] input, input[data-testid=new-user-email]").First.FillAsync(email);
        await admin.Locator("[data-testid=new-user-name] input, input[data-testid=new-user-name]").First.FillAsync(name);
        await admin.Locator("[data-testid=new-user-create]").ClickAsync();
        var password = (await admin.Locator("[data-testid=one-time-password]").InnerTextAsync()).Trim();
        await Assertions.Expect(admin.Locator("[data-testid=user-email]", new() { HasText = email })).ToBeVisibleAsync();
        Assert.Equal(16, password.Length);
        return password;
    }

    private static Task InteractiveAsync(IPage page) => WalkingSkeletonTests.InteractiveAsync(page);

    private static Task FillAsync(IPage page, string testId, string value) => WalkingSkeletonTests.FillAsync(page, testId, value);
}
