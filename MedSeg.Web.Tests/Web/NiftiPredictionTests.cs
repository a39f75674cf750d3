using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Files;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Engine.Inference;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>
/// The NIfTI round trip: a tiny model trained on the slices of a generated volume (the dataset built here from
/// <see cref="VolumeSlicer"/>'s slices, its cases marked as slices of that volume as the NIfTI import marks them), then a
/// .nii.gz predicted through the prediction API: masks.zip holds <c>case.nii.gz</c> with the input's shape and affine.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class NiftiPredictionTests : IClassFixture<NiftiPredictionTests.App>
{
    public sealed class App : IDisposable
    {
        private readonly SemaphoreSlim gate = new(1, 1);
        private (HttpClient Client, Guid ExperimentId, string Scan)? trained;

        public MedSegAppFactory Factory { get; } = new();
        public TempDirectory Files { get; } = new("medseg-nifti");

        /// <summary>Writes scan.nii.gz and label.nii.gz (12 × 10 × 6, spacing 0.8 × 0.9 × 2.5 mm, axes permuted and flipped,
        /// 10° oblique, an offset) with nibabel, uploads their slices as a dataset, and trains one epoch on it.</summary>
        public async Task<(HttpClient Client, Guid ExperimentId, string Scan)> TrainedAsync()
        {
            await gate.WaitAsync();
            try
            {
                if (trained is { } t) return t;
                Nibabel.Run("""
                    c, s = np.cos(np.radians(10)), np.sin(np.radians(10))
                    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
                    perm = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]) @ np.diag([0.8, 0.9, 2.5])
                    a = np.eye(4); a[:3, :3] = rot @ perm; a[:3, 3] = [12.5, -40.0, 7.25]
                    x, y, z = np.meshgrid(np.arange(12), np.arange(10), np.arange(6), indexing='ij')
                    label = (((x - 6) / 4.0) ** 2 + ((y - 5) / 3.5) ** 2 + ((z - 2.5) / 2.2) ** 2 <= 1).astype(np.uint8)
                    rng = np.random.default_rng(5)
                    scan = (100 + 300 * label + rng.normal(0, 20, label.shape)).astype(np.float32)
                    for name, d in (('scan', scan), ('label', label)):
                        i = nib.Nifti1Image(d, a); i.set_qform(a, 1); i.set_sform(a, 2); i.to_filename(args[0] + '/' + name + '.nii.gz')
                    """, Files.Path);
                var scan = Path.Combine(Files.Path, "scan.nii.gz");
                var client = await Factory.CreateAuthenticatedClientAsync();
                var datasetId = await UploadSlicesAsync(client, scan, Path.Combine(Files.Path, "label.nii.gz"));
                var response = await client.PostAsJsonAsync("/api/experiments",
                    new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.01 });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
                await ExperimentsApiTests.WaitForStatusAsync(client, id, "Completed", TimeSpan.FromMinutes(3));
                trained = (client, id, scan);
                return trained.Value;
            }
            finally
            {
                gate.Release();
            }
        }

        /// <summary>The volume's slices as PNG images and masks (scan_000 …), uploaded, then marked as the import marks
        /// slices (group key, slice index, spacing), with the original kept under the dataset's volumes/.</summary>
        private async Task<Guid> UploadSlicesAsync(HttpClient client, string scanPath, string labelPath)
        {
            var scan = NiftiVolume.Read(scanPath);
            var images = VolumeSlicer.Slice(scan, SliceAxis.Auto, "scan");
            var masks = VolumeSlicer.Slice(NiftiVolume.Read(labelPath), SliceAxis.Auto, "scan");
            var geometry = VolumeSlicer.Geometry(scan.Header, SliceAxis.Auto);
            using var buffer = new MemoryStream();
            using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            {
                for (var k = 0; k < images.Count; k++)
                {
                    var (w, h) = (images[k].Image.Width, images[k].Image.Height);
                    var (lo, hi) = (images[k].Image.Pixels.Min(), images[k].Image.Pixels.Max());
                    var grey = images[k].Image.Pixels.Select(v => (byte)Math.Round(255 * (v - lo) / Math.Max(1e-6, hi - lo))).ToArray();
                    SyntheticDataset.Add(zip, $"images/scan_{k:D3}.png", SyntheticDataset.Png(grey, w, h, 1));
                    SyntheticDataset.Add(zip, $"masks/scan_{k:D3}.png",
                        SyntheticDataset.Png([.. masks[k].Image.Pixels.Select(v => v != 0 ? (byte)255 : (byte)0)], w, h, 1));
                }
            }
            var upload = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("scan slices", buffer.ToArray()));
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
            var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

            using var scope = Factory.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            foreach (var c in await db.DatasetCases.Where(c => c.DatasetId == datasetId).ToListAsync())
            {
                c.GroupKey = "scan";
                c.SliceIndex = int.Parse(c.Name["scan_".Length..], System.Globalization.CultureInfo.InvariantCulture);
                (c.SpacingX, c.SpacingY) = (geometry.ColumnSpacing, geometry.RowSpacing);
            }
            await db.Datasets.Where(d => d.Id == datasetId).ExecuteUpdateAsync(u => u.SetProperty(d => d.Source, "volumes"));
            await db.SaveChangesAsync();
            var originals = Path.Combine(scope.ServiceProvider.GetRequiredService<ArtifactStore>().DatasetDirectory(datasetId), "volumes", "imagesTr");
            Directory.CreateDirectory(originals);
            File.Copy(scanPath, Path.Combine(originals, "scan.nii.gz"));
            return datasetId;
        }

        public void Dispose()
        {
            Factory.Dispose();
            Files.Dispose();
        }
    }

    private readonly App app;

    public NiftiPredictionTests(App app) => this.app = app;

    [Fact]
    public async Task VolumeTrainedAsSlicesIsScoredPerVolumeAndPredictedAsNiftiWithTheInputsShapeAndAffine()
    {
        var (client, id, scan) = await app.TrainedAsync();

        // Training scored the validation slices of the volume as one volume, each epoch and in the final evaluation.
        var detail = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}");
        var epoch = detail.GetProperty("metrics")[0];
        Assert.Equal(1, epoch.GetProperty("volumeDice").GetArrayLength());
        var volumes = VolumeReport.Read(Path.Combine(app.Factory.DataRoot, "experiments", id.ToString("N"), "predictions"));
        var volume = Assert.Single(volumes!);
        Assert.Equal("scan", volume.Volume);
        Assert.InRange(volume.Slices, 1, 5);
        Assert.InRange(Assert.Single(volume.Dice), 0, 1);

        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(await File.ReadAllBytesAsync(scan)), "files", "patient-7.nii.gz" },
            { new StringContent("false"), "tta" },
            { new StringContent("false"), "largestComponent" },
        };
        var response = await client.PostAsync($"/api/experiments/{id}/predictions", form);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var runId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var run = await WaitForRunAsync(client, id, runId);

        var zipResponse = await client.GetAsync(run.GetProperty("masksUrl").GetString());
        Assert.Equal(HttpStatusCode.OK, zipResponse.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await zipResponse.Content.ReadAsByteArrayAsync()));
        var entry = Assert.Single(zip.Entries);
        Assert.Equal("patient-7.nii.gz", entry.FullName);
        var output = Path.Combine(app.Files.Path, $"out-{runId:N}.nii.gz");
        entry.ExtractToFile(output);

        var header = NiftiVolume.ReadHeader(output);
        Assert.Equal((12, 10, 6), header.Shape);
        var read = Nibabel.Run("""
            i = nib.load(args[0]); o = nib.load(args[1]); d = np.asarray(o.dataobj)
            print(json.dumps(dict(shape=list(o.shape), same_affine=bool(np.allclose(i.affine, o.affine, atol=1e-5)),
                codes=[int(o.header['qform_code']), int(o.header['sform_code'])], dtype=str(o.get_data_dtype()),
                labels=sorted(int(v) for v in np.unique(d)))))
            """, scan, output);
        Assert.Equal([12, 10, 6], read.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(read.GetProperty("same_affine").GetBoolean());
        Assert.Equal([1, 2], read.GetProperty("codes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("uint8", read.GetProperty("dtype").GetString());
        Assert.All(read.GetProperty("labels").EnumerateArray(), v => Assert.InRange(v.GetInt32(), 0, 1));
    }

    [Fact]
    public async Task ReviewListsTheValidationVolumeAndItsMasksDownloadCarriesTheOriginalsHeader()
    {
        var (client, id, scan) = await app.TrainedAsync();

        var volumes = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{id}/volumes");
        var volume = Assert.Single(volumes.EnumerateArray());
        Assert.Equal("scan", volume.GetProperty("volume").GetString());
        Assert.NotEqual(JsonValueKind.Undefined, volume.GetProperty("hd95Mm")[0].ValueKind); // a number, or null when one mask is empty

        var response = await client.GetAsync($"/api/experiments/{id}/volume-masks.zip");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var zip = new ZipArchive(new MemoryStream(await response.Content.ReadAsByteArrayAsync()));
        var entry = Assert.Single(zip.Entries); // the original was found under volumes/: no README about a built header
        Assert.Equal("scan.nii.gz", entry.FullName);
        var output = Path.Combine(app.Files.Path, $"review-{Guid.NewGuid():N}.nii.gz");
        entry.ExtractToFile(output);
        var read = Nibabel.Run("""
            i = nib.load(args[0]); o = nib.load(args[1])
            print(json.dumps(dict(shape=list(o.shape), same_affine=bool(np.allclose(i.affine, o.affine, atol=1e-5)))))
            """, scan, output);
        Assert.Equal([12, 10, 6], read.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(read.GetProperty("same_affine").GetBoolean());
    }

    [Fact]
    public async Task MalformedOrMultiChannelVolumesInAPredictionUploadAreRefusedByName()
    {
        var (client, id, scan) = await app.TrainedAsync();
        var whole = await File.ReadAllBytesAsync(scan);
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            SyntheticDataset.Add(zip, "volumes/garbage.nii.gz", "not a volume at all"u8.ToArray());
            SyntheticDataset.Add(zip, "volumes/truncated.nii.gz", whole[..(whole.Length / 2)]);
            SyntheticDataset.Add(zip, "volumes/brain_0000.nii.gz", whole);
            SyntheticDataset.Add(zip, "volumes/brain_0001.nii.gz", whole);
        }
        var form = new MultipartFormDataContent { { new ByteArrayContent(buffer.ToArray()), "file", "volumes.zip" } };

        var response = await client.PostAsync($"/api/experiments/{id}/predictions", form);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors").EnumerateArray()
            .ToDictionary(e => e.GetProperty("file").GetString()!, e => e.GetProperty("problem").GetString()!);
        Assert.Equal(["volumes/brain_0001.nii.gz", "volumes/garbage.nii.gz", "volumes/truncated.nii.gz"], errors.Keys.Order());
        Assert.Contains("single-channel", errors["volumes/brain_0001.nii.gz"]);
        Assert.Contains("not a NIfTI volume", errors["volumes/garbage.nii.gz"]);
        Assert.Matches("truncated|corrupt", errors["volumes/truncated.nii.gz"]);
    }

    private static async Task<JsonElement> WaitForRunAsync(HttpClient client, Guid experimentId, Guid runId)
    {
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        JsonElement run;
        string status;
        do
        {
            run = await client.GetFromJsonAsync<JsonElement>($"/api/experiments/{experimentId}/predictions/{runId}");
            status = run.GetProperty("summary").GetProperty("status").GetString()!;
            if (status is "Completed" or "Failed") break;
            await Task.Delay(250);
        }
        while (DateTime.UtcNow < until);
        Assert.True(status == "Completed", $"Expected Completed, got {status}: {run.GetProperty("summary").GetProperty("error")}");
        return run;
    }
}
