using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Tests.Support;
using MedSeg.Web.Tests.Web;
using Microsoft.Playwright;

namespace MedSeg.Web.Tests.E2E;

/// <summary>The review viewer in Chromium on a tiny trained run: the overlay goes from fill to contour, the opacity slider
/// reaches the canvases, zoom (button and wheel) and pan move all four panes together, and j / k walk the cases, all under
/// the Content-Security-Policy. The view is read back through the viewer's own module (its state and each canvas's
/// transform) and the canvases' pixels.</summary>
[Collection(AppCollection.Name)]
public sealed class ReviewViewerTests
{
    private const string State = "async () => { const m = await import('/js/review-viewer.js'); return m.state(document.querySelector('[data-testid=review-viewer]')); }";

    // Pixels of the ground-truth pane that differ from the image pane: the mask laid over the image.
    private const string TruthPixels = """
        () => {
            const get = p => { const c = document.querySelector(`canvas[data-pane=${p}]`); return c.getContext('2d').getImageData(0, 0, c.width, c.height).data; };
            const a = get('image'), b = get('truth');
            let n = 0;
            for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
            return n;
        }
        """;

    [Fact]
    public async Task OverlayModeOpacityZoomPanAndKeysUnderTheCsp()
    {
        var (factory, baseUri) = KestrelApp.Start();
        using var _ = factory;
        using var admin = new HttpClient { BaseAddress = baseUri };
        var token = await admin.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword });
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString());
        var upload = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(10, 32)));
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await admin.PostAsJsonAsync("/api/experiments",
            new { datasetId, name = "viewer", model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ExperimentsApiTests.WaitForStatusAsync(admin, id, "Completed", TimeSpan.FromMinutes(3));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { BaseURL = baseUri.ToString(), ViewportSize = new() { Width = 1366, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        var csp = CspViolations.Watch(page);
        await WalkingSkeletonTests.SignInAsync(page);

        await page.GotoAsync($"/experiments/{id}/review");
        await WalkingSkeletonTests.InteractiveAsync(page);
        var rows = page.Locator("[data-testid=review-row]");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        var names = await rows.EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.case)");
        var viewer = page.Locator("[data-testid=review-viewer][data-ready=true]");
        await viewer.WaitForAsync();
        Assert.Equal(names[0], await viewer.GetAttributeAsync("data-case"));
        var state = await page.EvaluateAsync<JsonElement>(State);
        Assert.Equal("fill", state.GetProperty("mode").GetString());
        Assert.Equal(32, state.GetProperty("width").GetInt32());

        // Fill → contour: fewer pixels of the ground truth are drawn, but some.
        var filled = await page.EvaluateAsync<int>(TruthPixels);
        Assert.True(filled > 0, "The ground truth pane draws nothing over the image.");
        await page.Locator("[data-testid=review-contour]").ClickAsync();
        await UntilAsync(page, s => s.GetProperty("mode").GetString() == "contour", "the contour mode");
        var contour = await page.EvaluateAsync<int>(TruthPixels);
        Assert.InRange(contour, 1, filled - 1);

        // Opacity: 0 draws no mask at all, 100 % is reported as 1.
        var slider = page.Locator("[data-testid=review-opacity] input[type=range], input[type=range][data-testid=review-opacity]").First;
        await slider.FillAsync("0");
        await UntilAsync(page, s => s.GetProperty("opacity").GetDouble() == 0, "opacity 0");
        Assert.Equal(0, await page.EvaluateAsync<int>(TruthPixels));
        await slider.FillAsync("100");
        await UntilAsync(page, s => s.GetProperty("opacity").GetDouble() == 1, "opacity 1");
        Assert.True(await page.EvaluateAsync<int>(TruthPixels) > 0);

        // Zoom by the button, then by the wheel over one pane, then pan by dragging it: every pane has the same transform.
        await page.Locator("[data-testid=review-zoom-in]").ClickAsync();
        state = await UntilAsync(page, s => s.GetProperty("scale").GetDouble() > 1.2, "the zoom button");
        AssertSynchronised(state, 1.25);
        var box = (await page.Locator("canvas[data-pane=prediction]").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width / 4, box.Y + box.Height / 4);
        await page.Mouse.WheelAsync(0, -100);
        state = await UntilAsync(page, s => s.GetProperty("scale").GetDouble() > 1.5, "the wheel");
        AssertSynchronised(state, 1.5625);
        await WalkingSkeletonTests.ShotAsync(page, "review-viewer");
        var before = state.GetProperty("x").GetDouble();
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + box.Width / 4 + 40, box.Y + box.Height / 4 + 20, new() { Steps = 4 });
        await page.Mouse.UpAsync();
        state = await UntilAsync(page, s => s.GetProperty("x").GetDouble() != before, "the drag");
        AssertSynchronised(state, 1.5625);

        // j: the next case, k: back; the view (zoom, mode) stays across cases of one size.
        await page.Keyboard.PressAsync("j");
        await Assertions.Expect(page.Locator("[data-testid=review-viewer]")).ToHaveAttributeAsync("data-case", names[1]);
        await Assertions.Expect(page.Locator("[data-testid=review-position]")).ToHaveTextAsync("2 of 2");
        await Assertions.Expect(page.Locator("[data-testid=review-selected]")).ToContainTextAsync(names[1]);
        await viewer.WaitForAsync();
        state = await page.EvaluateAsync<JsonElement>(State);
        Assert.Equal("contour", state.GetProperty("mode").GetString());
        AssertSynchronised(state, 1.5625);
        await page.Keyboard.PressAsync("k");
        await Assertions.Expect(page.Locator("[data-testid=review-viewer]")).ToHaveAttributeAsync("data-case", names[0]);
        await page.Keyboard.PressAsync("0");
        AssertSynchronised(await UntilAsync(page, s => s.GetProperty("scale").GetDouble() == 1, "reset"), 1);

        csp.AssertNone();
    }

    private static void AssertSynchronised(JsonElement state, double scale)
    {
        Assert.Equal(scale, state.GetProperty("scale").GetDouble(), 6);
        var transforms = state.GetProperty("transforms").EnumerateArray().ToList();
        Assert.Equal(["image", "truth", "prediction", "overlay"], transforms.Select(t => t.GetProperty("pane").GetString()));
        foreach (var t in transforms)
        {
            Assert.Equal(scale, t.GetProperty("a").GetDouble(), 6);
            Assert.Equal(scale, t.GetProperty("d").GetDouble(), 6);
            Assert.Equal(state.GetProperty("x").GetDouble(), t.GetProperty("e").GetDouble(), 3);
            Assert.Equal(state.GetProperty("y").GetDouble(), t.GetProperty("f").GetDouble(), 3);
        }
    }

    private static async Task<JsonElement> UntilAsync(IPage page, Func<JsonElement, bool> done, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(15);
        JsonElement state;
        do
        {
            state = await page.EvaluateAsync<JsonElement>(State);
            if (state.ValueKind == JsonValueKind.Object && done(state)) return state;
            await Task.Delay(100);
        }
        while (DateTime.UtcNow < until);
        throw new Xunit.Sdk.XunitException($"The viewer did not reach {what}: {state}");
    }
}
