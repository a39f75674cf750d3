using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Web.Tests.Support;

namespace MedSeg.Web.Tests.Web;

/// <summary>Every page, prerendered by the real app in the Production environment (its own process), answers 200 with a
/// dataset and a completed experiment in place. The in-process tests run in Development, where a page that threw
/// (MudChip on a null attribute dictionary) still looked fine.</summary>
[Collection(AppCollection.Name)]
public sealed class ProductionPagesTests
{
    [Fact]
    public async Task EveryPageAnswersInProduction()
    {
        using var data = new TempDirectory("medseg-prod");
        using var server = await ServerProcess.StartAsync(data.Path, new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production" });
        using var client = await server.ClientAsync();
        var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs", SyntheticDataset.Zip(6, 32)));
        Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var launch = await client.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
        var id = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await ExperimentsApiTests.WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));

        foreach (var page in new[] { "/", "/datasets", $"/datasets/{datasetId}", "/experiments", "/experiments/new", $"/experiments/{id}",
                     $"/experiments/{id}/predict", $"/experiments/{id}/review" })
        {
            var response = await client.GetAsync(page);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{page}: {(int)response.StatusCode}\n{server.Log[^Math.Min(3000, server.Log.Length)..]}");
            Assert.DoesNotContain("Something went wrong", body);
        }
        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/account/login")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/no-such-page")).StatusCode);
    }
}
