using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Bunit;
using MedSeg.Web.Features.Weights;
using MedSeg.Web.Features.Weights.Pages;
using MedSeg.Web.Tests.Engine;
using MedSeg.Web.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Web;

/// <summary>The pretrained-weights library through the REST API on the real app: the check runs in a real
/// <c>medseg check-weights</c> child over files the tests write (nothing is downloaded).</summary>
[Collection(AppCollection.Name)]
public sealed class WeightsApiTests : IClassFixture<WeightsApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;
    private readonly TempDir dir = new();

    public WeightsApiTests(App app) => factory = app.Factory;

    public static MultipartFormDataContent Form(byte[] file, string fileName, string? name = null)
    {
        var form = new MultipartFormDataContent();
        if (name is not null) form.Add(new StringContent(name), "name");
        form.Add(new ByteArrayContent(file), "file", fileName);
        return form;
    }

    private byte[] MitB0File(int seed)
    {
        var path = dir[$"mit_b0-{seed}.safetensors"];
        TestWeightFiles.Write(path, TestWeightFiles.MitB0(seed));
        return File.ReadAllBytes(path);
    }

    private string WeightsFolder => Path.Combine(factory.DataRoot, WeightsService.Folder);

    private string[] StoredFiles => Directory.Exists(WeightsFolder) ? Directory.GetFiles(WeightsFolder) : [];

    private string[] StagingLeftovers => Directory.Exists(Path.Combine(factory.DataRoot, "staging"))
        ? Directory.GetFileSystemEntries(Path.Combine(factory.DataRoot, "staging")) : [];

    [Fact]
    public async Task AdminUploadsMitB0WeightsThatFitSegFormerB0AndEveryoneSignedInSeesThem()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Member");
        var bytes = MitB0File(seed: 1);

        var response = await admin.PostAsync("/api/weights", Form(bytes, "mit_b0.safetensors", "MiT-B0 ImageNet"));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var body = JsonDocument.Parse(text).RootElement;
        var id = body.GetProperty("id").GetGuid();
        Assert.Equal("MiT-B0 ImageNet", body.GetProperty("name").GetString());
        Assert.Equal("safetensors", body.GetProperty("format").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), body.GetProperty("sha256").GetString());
        var fits = body.GetProperty("fits").EnumerateArray().Select(f => (f.GetProperty("model").GetString(), f.GetProperty("variant").GetString())).ToList();
        Assert.Equal([("segformer", "b0")], fits);
        var fit = body.GetProperty("fits")[0];
        Assert.Contains("100 %", fit.GetProperty("summary").GetString());
        Assert.Contains("mit_b0.safetensors", fit.GetProperty("report").GetString());
        Assert.DoesNotContain(factory.DataRoot, text);
        var stored = Path.Combine(WeightsFolder, $"{id:N}.safetensors");
        Assert.Equal(bytes, await File.ReadAllBytesAsync(stored));
        Assert.Empty(StagingLeftovers);

        // Any signed-in user lists the library with the fits (to choose weights for an experiment).
        var list = await member.Client.GetFromJsonAsync<JsonElement>("/api/weights");
        var listed = Assert.Single(list.EnumerateArray(), w => w.GetProperty("id").GetGuid() == id);
        Assert.Equal("segformer", listed.GetProperty("fits")[0].GetProperty("model").GetString());

        using (var scope = factory.Services.CreateScope())
        {
            var weights = scope.ServiceProvider.GetRequiredService<WeightsService>();
            Assert.Null(await weights.CheckAsync(null, "segformer", "b1"));
            Assert.Null(await weights.CheckAsync(id, "segformer", "b0"));
            Assert.Null(await weights.CheckAsync(id, "segformer", null));
            Assert.Equal("Weights MiT-B0 ImageNet do not fit segformer b1; they fit: segformer b0.", await weights.CheckAsync(id, "segformer", "b1"));
            Assert.Contains("do not fit unext", await weights.CheckAsync(id, "unext", null));
            Assert.Contains("not in the weights library", await weights.CheckAsync(Guid.NewGuid(), "segformer", "b0"));
            Assert.Equal(stored, await weights.StoredPathAsync(id));
            Assert.Null(await weights.StoredPathAsync(Guid.NewGuid()));
            Assert.Equal([id], (await weights.ListFittingAsync("segformer", "b0")).Select(w => w.Id));
            Assert.Empty(await weights.ListFittingAsync("segformer", "b2"));
        }

        // The same file again is refused before a child runs: it is in the library already.
        var again = await admin.PostAsync("/api/weights", Form(bytes, "copy.safetensors"));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("MiT-B0 ImageNet", await again.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Forbidden, (await member.Client.DeleteAsync($"/api/weights/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/weights/{id}")).StatusCode);
        Assert.False(File.Exists(stored));
        Assert.DoesNotContain(id.ToString(), await admin.GetStringAsync("/api/weights"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/weights/{id}")).StatusCode);
    }

    [Fact]
    public async Task PickerOffersTheFilesThatFitTheModelAndVariantAndDropsAChoiceThatDoesNot()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var upload = await admin.PostAsync("/api/weights", Form(MitB0File(seed: 4), "mit_b0.safetensors", "Picker MiT"));
        Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());
        var id = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        try
        {
            using var scope = factory.Services.CreateScope();
            await using var ctx = BunitSetup.NewContext();
            ctx.Services.AddSingleton(scope.ServiceProvider.GetRequiredService<WeightsService>());

            Guid? fitting = id;
            var b0 = ctx.Render<WeightsPicker>(p => p.Add(x => x.Model, "segformer").Add(x => x.Variant, "b0")
                .Add(x => x.Value, fitting).Add(x => x.ValueChanged, (Guid? v) => fitting = v));
            b0.WaitForAssertion(() => Assert.Contains("1 file(s) fit this model and variant", b0.Markup));
            Assert.Contains("Picker MiT", b0.Markup);
            Assert.Equal(id, fitting);

            Guid? stale = id;
            var b1 = ctx.Render<WeightsPicker>(p => p.Add(x => x.Model, "segformer").Add(x => x.Variant, "b1")
                .Add(x => x.Value, stale).Add(x => x.ValueChanged, (Guid? v) => stale = v));
            b1.WaitForAssertion(() => Assert.Contains("No weights in the library fit this model and variant", b1.Markup));
            Assert.Null(stale);

            var scratch = ctx.Render<WeightsPicker>(p => p.Add(x => x.Model, "segformer").Add(x => x.Value, (Guid?)null));
            scratch.WaitForAssertion(() => Assert.Contains("none (from scratch)", scratch.Markup));
        }
        finally
        {
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/weights/{id}")).StatusCode);
        }
    }

    [Fact]
    public async Task AMemberOrViewerCannotUpload()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var before = StoredFiles.Length;
        foreach (var role in new[] { "Member", "Viewer" })
        {
            var user = await Accounts.CreateAsync(factory, admin, role);
            var response = await user.Client.PostAsync("/api/weights", Form(MitB0File(seed: 2), "mit_b0.safetensors"));
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        Assert.Equal(before, StoredFiles.Length);
    }

    [Fact]
    public async Task FilesThatAreNoStateDictOrFitNothingAreRefusedNamingThemAndNothingIsStored()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var before = await admin.GetStringAsync("/api/weights");
        var storedBefore = StoredFiles.Length;

        // Text: refused from its first bytes, no child needed.
        var text = await RefusalAsync(admin, "not a state dict, just notes"u8.ToArray(), "notes.pth", HttpStatusCode.BadRequest);
        Assert.Contains("notes.pth is not a state dict", text);

        // A zip that is no torch.save file: the child cannot unpickle it.
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            await using var entry = zip.CreateEntry("readme.txt").Open();
            await entry.WriteAsync("hello"u8.ToArray());
        }
        var zipped = await RefusalAsync(admin, buffer.ToArray(), "archive.pt", HttpStatusCode.BadRequest);
        Assert.Contains("archive.pt", zipped);

        // A real state dict that no model of the zoo has a place for.
        var path = dir["odd.safetensors"];
        TestWeightFiles.Write(path, new Dictionary<string, Tensor> { ["odd.weight"] = randn(7, 5), ["odd.bias"] = randn(7) });
        var odd = await RefusalAsync(admin, await File.ReadAllBytesAsync(path), "odd.safetensors", HttpStatusCode.BadRequest);
        Assert.Contains("odd.safetensors fits no model", odd);

        Assert.Equal(before, await admin.GetStringAsync("/api/weights"));
        Assert.Equal(storedBefore, StoredFiles.Length);
        Assert.Empty(StagingLeftovers);
    }

    /// <summary>Posts a file that must be refused; returns the problem, checked to name the file in its errors.</summary>
    private static async Task<string> RefusalAsync(HttpClient admin, byte[] file, string fileName, HttpStatusCode status)
    {
        var response = await admin.PostAsync("/api/weights", Form(file, fileName));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, body);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("errors")[0];
        Assert.Equal(fileName, error.GetProperty("file").GetString());
        var problem = error.GetProperty("problem").GetString()!;
        Assert.Contains(fileName, problem);
        Assert.DoesNotContain("/tmp", problem);
        return problem;
    }

    [Fact]
    public async Task AFileOverTheWeightsLimitIsRefusedNamingTheSetting()
    {
        using var small = new MedSegAppFactory(new() { ["MedSeg:Limits:WeightsBytes"] = "4096" });
        var admin = await small.CreateAuthenticatedClientAsync();

        var response = await admin.PostAsync("/api/weights", Form(new byte[200_000], "big.pth"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MedSeg:Limits:WeightsBytes", await response.Content.ReadAsStringAsync());
        Assert.False(Directory.Exists(Path.Combine(small.DataRoot, WeightsService.Folder)));
    }
}
