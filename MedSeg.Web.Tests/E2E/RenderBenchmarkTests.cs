using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using MedSeg.Web.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace MedSeg.Web.Tests.E2E;

/// <summary>Runs only with <c>MEDSEG_BENCH=1</c>; otherwise skipped, saying so.</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public const string Variable = "MEDSEG_BENCH";

    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Variable) != "1")
            Skip = $"Opt-in benchmark: set {Variable}=1 to run it (it trains two runs and loads pages for a minute; run it on a quiet machine).";
    }
}

/// <summary>
/// The Compare and Review pages' first visit in Chromium while two trainings run on the same server: each visit is a fresh
/// browser context (no cache; signed in by cookie) and is timed from navigation until the page is interactive and its case
/// images have loaded. Prints median and max. <c>MEDSEG_BENCH_VISITS</c> (default 10) visits per page, and
/// <c>MEDSEG_BENCH_EPOCHS</c> (default 200) epochs of each background training (at 64 px, so they run throughout).
/// With <c>MEDSEG_BENCH_LIMIT_MS</c> set, a median above it fails.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class RenderBenchmarkTests(ITestOutputHelper output)
{
    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var v) && v > 0 ? v : fallback;

    [BenchFact]
    public async Task CompareAndReviewFirstVisitWhileTwoTrainingsRun()
    {
        var visits = Setting("MEDSEG_BENCH_VISITS", 10);
        var epochs = Setting("MEDSEG_BENCH_EPOCHS", 200);
        var (factory, baseUri) = KestrelApp.Start(new() { ["MedSeg:Jobs:WorkerCount"] = "2" });
        using var _ = factory;
        using var admin = await ExperimentGroupE2ETests.AdminAsync(baseUri);
        var datasetId = await ExperimentGroupE2ETests.DatasetAsync(admin, "bench discs");
        var a = await CompareE2ETests.LaunchAsync(admin, datasetId, "bench a", 0.004);
        var b = await CompareE2ETests.LaunchAsync(admin, datasetId, "bench b", 0.01);
        foreach (var id in new[] { a, b }) await Web.ExperimentsApiTests.WaitForStatusAsync(admin, id, "Completed", TimeSpan.FromMinutes(5));

        var busy = new List<Guid>();
        foreach (var name in new[] { "bench load 1", "bench load 2" })
        {
            var launched = await admin.PostAsJsonAsync("/api/experiments", new
            {
                datasetId, name, model = "unext", epochs, batchSize = 2, imageSize = 64, learningRate = 0.001, warmupEpochs = 0,
            });
            busy.Add((await launched.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetGuid());
        }
        foreach (var id in busy) await Web.ExperimentsApiTests.WaitForStatusAsync(admin, id, "Running", TimeSpan.FromMinutes(2));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await WalkingSkeletonTests.LaunchChromiumAsync(playwright);
        var signIn = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUri.ToString() });
        await WalkingSkeletonTests.SignInAsync(await signIn.NewPageAsync());
        var cookies = await signIn.StorageStateAsync();
        await signIn.CloseAsync();

        var pages = new (string Name, string Url, string Images)[]
        {
            ("Compare", $"/compare?ids={a},{b}", "[data-testid=compare-cases] img"),
            // The review's panes are canvases: ready once the viewer has drawn the selected case.
            ("Review", $"/experiments/{a}/review", "[data-testid=review-viewer][data-ready=true]"),
            // The baseline of the same run: a plain page (the experiment list), so the circuit's own start is seen apart.
            ("Experiment list (baseline)", "/experiments", ""),
        };
        var report = new List<string>();
        var failed = new List<string>();
        try
        {
            foreach (var (name, url, images) in pages)
            {
                var times = new List<double>();
                var paints = new List<double>();
                var interactive = new List<double>();
                for (var i = 0; i < visits; i++)
                {
                    await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUri.ToString(), StorageState = cookies });
                    var page = await context.NewPageAsync();
                    page.SetDefaultTimeout(60_000);
                    var clock = Stopwatch.StartNew();
                    await page.GotoAsync(url);
                    await WalkingSkeletonTests.InteractiveAsync(page);
                    interactive.Add(clock.Elapsed.TotalMilliseconds);
                    if (images.Length == 0) { }
                    else if (images.Contains("data-ready")) await page.WaitForSelectorAsync(images);
                    else await WalkingSkeletonTests.WaitForImagesAsync(page, images);
                    times.Add(clock.Elapsed.TotalMilliseconds);
                    // The browser's own first contentful paint (from navigation start): the prerendered page on screen.
                    paints.Add(await page.EvaluateAsync<double>("() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"));
                }
                static double Median(List<double> v)
                {
                    var t = v.Order().ToList();
                    return t.Count % 2 == 1 ? t[t.Count / 2] : (t[t.Count / 2 - 1] + t[t.Count / 2]) / 2;
                }
                times.Sort();
                var median = Median(times);
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"{name} first visit, {visits} visits, 2 trainings running: median {median:F0} ms, max {times[^1]:F0} ms, min {times[0]:F0} ms " +
                    $"(until interactive and its images drawn); first contentful paint median {Median(paints):F0} ms (max {paints.Max():F0}); " +
                    $"interactive median {Median(interactive):F0} ms");
                report.Add(line);
                if (Setting("MEDSEG_BENCH_LIMIT_MS", 0) is var limit and > 0 && median > limit) failed.Add($"{name}: median {median:F0} ms > {limit} ms");
            }
        }
        finally
        {
            foreach (var id in busy)
            {
                var status = (await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/experiments/{id}")).GetProperty("summary").GetProperty("status").GetString();
                if (status != "Running") failed.Add($"A background training was {status} before the visits ended: raise MEDSEG_BENCH_EPOCHS (now {epochs}).");
                await admin.PostAsync($"/api/experiments/{id}/cancel", null);
            }
        }
        foreach (var line in report)
        {
            output.WriteLine(line);
            Console.WriteLine(line);
        }
        Assert.True(failed.Count == 0, string.Join("\n", failed.Concat(report)));
    }
}
