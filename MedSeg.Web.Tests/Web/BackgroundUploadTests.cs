using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Engine.Data;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Uploads checked in the background (202 + /api/uploads/{id}), admitted without their bad cases or refused, and
/// their report as CSV.</summary>
[Collection(AppCollection.Name)]
public sealed class BackgroundUploadTests : IClassFixture<BackgroundUploadTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public BackgroundUploadTests(App app) => factory = app.Factory;

    /// <summary>6 good pairs, an image without a mask and a mask of the wrong size: 2 bad files of 2 kinds.</summary>
    private static byte[] ZipWithTwoBadCases() => SyntheticDataset.Zip(6, 32, tamper: zip =>
    {
        var (image, _) = SyntheticDataset.Case(new Random(3), 32, 32);
        SyntheticDataset.Add(zip, "images/orphan.png", image);
        var (wide, _) = SyntheticDataset.Case(new Random(4), 32, 32);
        var (_, narrow) = SyntheticDataset.Case(new Random(5), 20, 32);
        SyntheticDataset.Add(zip, "images/odd size.png", wide);
        SyntheticDataset.Add(zip, "masks/odd size.png", narrow);
    });

    private static MultipartFormDataContent Form(string name, byte[] zip, params (string Key, string Value)[] fields)
    {
        var form = DatasetsApiTests.Upload(name, zip);
        foreach (var (key, value) in fields) form.Add(new StringContent(value), key);
        return form;
    }

    private static async Task<JsonElement> WaitForAsync(HttpClient client, Guid id, params string[] states)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var status = await client.GetFromJsonAsync<JsonElement>($"/api/uploads/{id}");
            if (states.Contains(status.GetProperty("state").GetString())) return status;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"upload {id} is {status.GetProperty("state")}");
            await Task.Delay(100);
        }
    }

    private async Task<int> DatasetsNamedAsync(string name)
    {
        await using var scope = factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        return await db.Datasets.CountAsync(d => d.Name == name);
    }

    [Fact]
    public async Task AdmitValidStoresTheGoodCasesAndNamesTheFilesLeftOut()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form("admitted", ZipWithTwoBadCases(), ("admit", "valid")));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(6, created.GetProperty("cases").GetInt32());
        var leftOut = created.GetProperty("leftOut").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("images/orphan.png", leftOut);
        Assert.Contains(leftOut, f => f!.Contains("odd size.png"));
        var csv = await client.GetStringAsync(created.GetProperty("reportUrl").GetString());
        Assert.StartsWith("\ufeffkind,file,problem,left_out", csv);
        Assert.Contains("images/orphan.png", csv);
        Assert.Contains(",yes", csv);
    }

    [Fact]
    public async Task WithoutAdmitTheSameUploadIsRefusedWithAReportAndNothingStored()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form("refused-sync", ZipWithTwoBadCases()));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var csv = await client.GetStringAsync(problem.GetProperty("report").GetString());
        Assert.Contains("orphan.png", csv);
        Assert.Equal(0, await DatasetsNamedAsync("refused-sync"));
    }

    [Fact]
    public async Task ReviewHoldsAnUploadWithProblemsUntilItsOwnerAdmitsIt()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form("held", ZipWithTwoBadCases(), ("review", "auto")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.EndsWith($"/api/uploads/{id}", response.Headers.Location!.ToString());

        var held = await WaitForAsync(client, id, "awaitingdecision");
        Assert.Equal(6, held.GetProperty("validCases").GetInt32());
        Assert.Contains("images/orphan.png", held.GetProperty("leftOut").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, await DatasetsNamedAsync("held"));

        // Another user does not see it.
        var other = (await Accounts.CreateAsync(factory, client, "Member")).Client;
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/uploads/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsJsonAsync($"/api/uploads/{id}/admit", new { })).StatusCode);

        var admit = await client.PostAsJsonAsync($"/api/uploads/{id}/admit", new { name = "held, then admitted" });
        Assert.Equal(HttpStatusCode.Accepted, admit.StatusCode);
        var stored = await WaitForAsync(client, id, "stored", "refused", "failed");
        Assert.Equal("stored", stored.GetProperty("state").GetString());
        Assert.Equal(6, stored.GetProperty("storedCases").GetInt32());
        Assert.Equal(1, await DatasetsNamedAsync("held, then admitted"));
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsJsonAsync($"/api/uploads/{id}/admit", new { })).StatusCode);
    }

    [Fact]
    public async Task RefusingAHeldUploadStoresNothingAndCleansStaging()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form("refused-held", ZipWithTwoBadCases(), ("review", "auto")));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        await WaitForAsync(client, id, "awaitingdecision");

        Assert.Equal(HttpStatusCode.Accepted, (await client.DeleteAsync($"/api/uploads/{id}")).StatusCode);
        var refused = await WaitForAsync(client, id, "refused");
        Assert.True(refused.GetProperty("problems").GetArrayLength() >= 2);
        Assert.Equal(0, await DatasetsNamedAsync("refused-held"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.EnumerateFileSystemEntries(Path.Combine(factory.DataRoot, "staging")).Any() && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(factory.DataRoot, "staging")));
    }

    [Fact]
    public async Task ACleanBackgroundUploadIsStoredWithoutAsking()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form("clean-background", SyntheticDataset.Zip(4, 32), ("wait", "false"), ("review", "auto")));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var stored = await WaitForAsync(client, id, "stored", "refused", "failed");
        Assert.Equal("stored", stored.GetProperty("state").GetString());
        var datasetId = stored.GetProperty("datasetId").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/datasets/{datasetId}")).StatusCode);
        Assert.Contains((await client.GetFromJsonAsync<JsonElement>("/api/uploads")).EnumerateArray(), u => u.GetProperty("id").GetGuid() == id);
    }

    [Theory]
    [InlineData("admit", "some")]
    [InlineData("wait", "later")]
    [InlineData("review", "maybe")]
    public async Task AnUnknownChoiceIsAFieldProblem(string field, string value)
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form("bad-choice", SyntheticDataset.Zip(2, 16), (field, value)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(value, problem.GetProperty("errors").GetProperty(field)[0].GetString());
    }

    [Fact]
    public void ProblemsGroupByKindWithoutTheirFileSpecificValues()
    {
        DatasetProblem[] problems =
        [
            new("masks/a.png", "the mask is 20×32 but the image is 32×32; save the mask at the image's size."),
            new("masks/b.png", "the mask is 64×64 but the image is 48×48; save the mask at the image's size."),
            new("images/c.png", "no mask: expected masks/c.png."),
        ];
        var groups = UploadReport.Group(problems);
        Assert.Equal(2, groups.Count);
        Assert.Equal(2, groups[0].Problems.Count);
        Assert.Equal(["masks/a.png", "masks/b.png"], groups[0].Problems.Select(p => p.File));
        Assert.Equal("No mask named … in …", UploadReport.Kind(
            "no mask named unlabelled-0.* in masks/ (nor unlabelled-0_mask.* or unlabelled-0 with another mask suffix)", "images/unlabelled-0.png"));
    }

    [Fact]
    public void CsvQuotesAndDefusesFormulas()
    {
        var csv = UploadReport.ToCsv([new DatasetProblem("=cmd|calc.png", "bad, \"really\"")], ["=cmd|calc.png"]);
        var row = csv.Split("\r\n")[1];
        Assert.Contains("'=cmd|calc.png", row);
        Assert.Contains("\"bad, \"\"really\"\"\"", row);
        Assert.EndsWith(",yes", row);
    }
}
