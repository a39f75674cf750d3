using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Bunit;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Web;

public sealed class ExperimentEtaTests
{
    [Fact]
    public void TheEtaIsTheEpochsLeftTimesTheMeanMeasuredEpochTime()
    {
        Assert.Equal(TimeSpan.FromSeconds(7 * 11), ExperimentEta.Remaining(3, 10, [10, 12, 11]));
        // Unmeasured or broken durations do not count; nothing measured or nothing left: no estimate.
        Assert.Equal(TimeSpan.FromSeconds(2 * 20), ExperimentEta.Remaining(3, 5, [20, 0, double.NaN]));
        Assert.Null(ExperimentEta.Remaining(0, 10, []));
        Assert.Null(ExperimentEta.Remaining(10, 10, [5, 5]));
        Assert.Null(ExperimentEta.Remaining(12, 10, [5]));
    }
}

public sealed class RunLogComponentTests
{
    [Fact]
    public async Task TheLearningRateChartDrawsOnePointPerEpoch()
    {
        await using var ctx = BunitSetup.NewContext();
        EpochPoint[] points = [new(1, 0.9, 0.8, 0.4, 0.3, 2e-3, 10), new(2, 0.6, 0.5, 0.7, 0.6, 1e-3, 11), new(3, 0.5, 0.5, 0.7, 0.6, 5e-4, 12)];
        var cut = ctx.Render<LearningRateChart>(p => p.Add(x => x.Points, points).Add(x => x.Epochs, 10));
        var line = cut.Find("[data-testid=chart-lr] polyline.series");
        Assert.Equal("Learning rate", line.GetAttribute("data-series"));
        var ys = line.GetAttribute("points")!.Split(' ').Select(p => double.Parse(p.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(3, ys.Count);
        // SVG y grows downwards: a decaying rate is drawn lower each epoch.
        Assert.True(ys[0] < ys[1] && ys[1] < ys[2], string.Join(" ", ys));
    }

    [Fact]
    public async Task TheLogPanelShowsTheLinesOrSaysThereAreNone()
    {
        await using var ctx = BunitSetup.NewContext();
        var id = Guid.NewGuid();
        var cut = ctx.Render<RunLogPanel>(p => p.Add(x => x.ExperimentId, id).Add(x => x.Lines, ["epoch 1/2  dice 0.5", "failed: out of memory"]));
        Assert.Equal("epoch 1/2  dice 0.5\nfailed: out of memory", cut.Find("[data-testid=run-log]").TextContent);
        Assert.Contains($"/api/experiments/{id}/log?tail=", cut.Markup);
        var empty = ctx.Render<RunLogPanel>(p => p.Add(x => x.ExperimentId, id).Add(x => x.Lines, Array.Empty<string>()));
        Assert.NotNull(empty.Find("[data-testid=run-log-empty]"));
    }
}

/// <summary>A tiny run writes its log; <c>GET /api/experiments/{id}/log?tail=N</c> returns its last lines to those who see it.</summary>
[Collection(AppCollection.Name)]
public sealed class RunLogTests : IDisposable
{
    private readonly MedSegAppFactory factory = new();

    public void Dispose() => factory.Dispose();

    [Fact]
    public async Task ATinyRunsLogHasItsEpochsAndItsEndAndIsServedAsText()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(factory, admin, "Member", "log-owner@lab.test");
        var other = await Accounts.CreateAsync(factory, admin, "Member", "log-other@lab.test");
        var upload = await owner.Client.PostAsync("/api/datasets", DatasetsApiTests.Upload("log discs", SyntheticDataset.Zip(6, 32)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await owner.Client.PostAsJsonAsync("/api/experiments",
            new { datasetId, name = "logged", model = "unext", epochs = 2, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        Assert.Equal(HttpStatusCode.Accepted, launch.StatusCode);
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var done = await ExperimentsApiTests.WaitForStatusAsync(owner.Client, id, "Completed", TimeSpan.FromMinutes(3));
        Assert.Equal(JsonValueKind.Null, done.GetProperty("etaSeconds").ValueKind); // only a running run has one

        var full = await owner.Client.GetAsync($"/api/experiments/{id}/log?tail=1000");
        Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        Assert.Equal("text/plain", full.Content.Headers.ContentType!.MediaType);
        var lines = (await full.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Contains(lines, l => l.Contains("started on "));
        var epochs = lines.Where(l => l.Contains("epoch ") && l.Contains(" lr ")).ToList();
        Assert.Equal(2, epochs.Count);
        Assert.Contains("epoch 1/2", epochs[0]);
        Assert.Contains("epoch 2/2", epochs[1]);
        Assert.All(epochs, l => Assert.Matches("train loss \\d+\\.\\d{4} .*dice \\d\\.\\d{4} .*time \\d+\\.\\ds", l));
        Assert.Contains("completed", lines[^1]);
        Assert.DoesNotContain(factory.DataRoot, string.Join('\n', lines));

        var tail = await owner.Client.GetStringAsync($"/api/experiments/{id}/log?tail=2");
        Assert.Equal(lines[^2..], tail.TrimEnd('\n').Split('\n'));

        Assert.Equal(HttpStatusCode.NotFound, (await other.Client.GetAsync($"/api/experiments/{id}/log")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.GetAsync($"/api/experiments/{Guid.NewGuid()}/log")).StatusCode);
        var anonymous = factory.CreateClient(new() { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"/api/experiments/{id}/log")).StatusCode);
    }
}
