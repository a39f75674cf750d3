using System.IO.Compression;
using Bunit;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Engine.Data;
using MedSeg.Engine.Data.Volumes;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>NIfTI volumes in the Decathlon / nnU-Net v2 layout, generated with nibabel, uploaded through <c>POST /api/datasets</c>
/// and exported through <c>GET /api/datasets/{id}/export.zip</c>.</summary>
[Collection(AppCollection.Name)]
public sealed class VolumeUploadTests : IClassFixture<VolumeUploadTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public VolumeUploadTests(App app) => factory = app.Factory;

    /// <summary>
    /// <c>save(rel, data)</c> writes a NIfTI under the root with the affine A: stored axis 0 → −x (0.8 mm), axis 1 → +z (2.5 mm),
    /// axis 2 → −y (0.9 mm), so the canonical (RAS) volume is x = axis 0 flipped, y = axis 2 flipped, z = axis 1, and auto cuts
    /// axially (z, the coarsest), 10 slices of 12 columns × 6 rows. <c>lab()</c> has foreground (0/1/2) in slices 3 … 6 only.
    /// </summary>
    private const string Helpers = """
        import os
        root = args[0]
        A = np.array([[-0.8, 0, 0, 10], [0, 0, -0.9, -5], [0, 2.5, 0, 3], [0, 0, 0, 1.0]])
        rng = np.random.default_rng(5)
        def save(rel, data, affine=A):
            os.makedirs(os.path.dirname(root + '/' + rel), exist_ok=True)
            nib.Nifti1Image(data, affine, dtype=data.dtype).to_filename(root + '/' + rel)
        def img(lo=0, hi=400):
            return rng.uniform(lo, hi, size=(12, 10, 6)).astype(np.float32)
        def lab():
            l = np.zeros((12, 10, 6), np.uint8)
            l[:, 3:7, :] = rng.integers(0, 3, size=(12, 4, 6))
            l[0, 3:7, 0] = 1
            l[1, 3:7, 0] = 2
            return l
        def meta(obj, at='dataset.json'):
            json.dump(obj, open(root + '/' + at, 'w'))
        def canonical(rel):
            return nib.as_closest_canonical(nib.load(root + '/' + rel)).get_fdata()
        """;

    private const string Msd = """
        for i in (1, 2, 3):
            save(f'Task09_Tiny/imagesTr/tiny_{i:03}.nii.gz', img()); save(f'Task09_Tiny/labelsTr/tiny_{i:03}.nii.gz', lab())
        save('Task09_Tiny/imagesTs/tiny_900.nii.gz', img())
        meta({'name': 'Tiny', 'modality': {'0': 'MRI'}, 'labels': {'0': 'background', '1': 'Anterior', '2': 'Posterior'}, 'numTraining': 3,
              'training': [{'image': f'./imagesTr/tiny_{i:03}.nii.gz', 'label': f'./labelsTr/tiny_{i:03}.nii.gz'} for i in (1, 2, 3)],
              'test': ['./imagesTs/tiny_900.nii.gz']}, 'Task09_Tiny/dataset.json')
        """;

    private static byte[] Zip(string folder)
    {
        using var buffer = new MemoryStream();
        ZipFile.CreateFromDirectory(folder, buffer);
        return buffer.ToArray();
    }

    private static MultipartFormDataContent Form(string name, byte[] zip, string? axis = null, string? emptySlices = null)
    {
        var form = DatasetsApiTests.Upload(name, zip, "volumes.zip");
        if (axis is not null) form.Add(new StringContent(axis), "axis");
        if (emptySlices is not null) form.Add(new StringContent(emptySlices), "emptySlices");
        return form;
    }

    private async Task<(HttpClient Client, Guid Id)> UploadAsync(string folder, string name, string? axis = null, string? emptySlices = null)
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var response = await client.PostAsync("/api/datasets", Form(name, Zip(folder), axis, emptySlices));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (client, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid());
    }

    private MedSegDbContext Db() => factory.Services.CreateScope().ServiceProvider.GetRequiredService<MedSegDbContext>();

    private string Folder(Guid id) => Path.Combine(factory.DataRoot, "datasets", id.ToString("N"));

    [Fact]
    public async Task VolumeUploadSlicesEveryVolumeAxiallyWithGroupKeysSpacingAndTheClassesOfDatasetJson()
    {
        using var dir = new TempDirectory("medseg-volumes");
        var reference = Nibabel.Run(Helpers + "\n" + Msd + "\n" + """
            c = canonical('Task09_Tiny/imagesTr/tiny_002.nii.gz'); l = canonical('Task09_Tiny/labelsTr/tiny_002.nii.gz')
            print(json.dumps({'image': c[:, :, 4].tolist(), 'label': l[:, :, 4].tolist()}))
            """, dir.Path);

        var (client, id) = await UploadAsync(dir.Path, "tiny");

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(30, dataset.GetProperty("cases").GetInt32());
        Assert.Equal(3, dataset.GetProperty("classCount").GetInt32());
        Assert.Equal("volumes", dataset.GetProperty("source").GetString());
        Assert.Equal(["background", "Anterior", "Posterior"], dataset.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var volumes = dataset.GetProperty("volumes");
        Assert.Equal(3, volumes.GetProperty("volumes").GetInt32());
        Assert.Equal(1, volumes.GetProperty("testVolumes").GetInt32());
        Assert.Equal("auto", volumes.GetProperty("axis").GetString());
        Assert.Equal(["axial"], volumes.GetProperty("axes").EnumerateArray().Select(a => a.GetString()));
        Assert.False(volumes.GetProperty("ct").GetBoolean());

        await using var db = Db();
        var row = await db.Datasets.AsNoTracking().SingleAsync(d => d.Id == id);
        Assert.Equal(1, row.Channels);
        var source = VolumeSource.Parse(row.SourceJson)!;
        Assert.Equal(("msd", "keep", ".nii.gz"), (source.Format, source.EmptySlices, source.FileEnding));
        Assert.Equal("MRI", Assert.Single(source.Channels).Name);
        var second = source.Volumes.Single(v => v.Id == "tiny_002");
        Assert.Equal([12, 10, 6], second.Shape);
        Assert.Equal((10, 10, "axial", "LSP"), (second.Slices, second.Kept, second.Axis, second.Orientation));
        Assert.Equal("volumes/imagesTr/tiny_002.nii.gz", Assert.Single(second.Images));
        Assert.Equal("volumes/labelsTr/tiny_002.nii.gz", second.Label);
        Assert.Equal("volumes/imagesTs/tiny_900.nii.gz", Assert.Single(Assert.Single(source.Test).Images));
        foreach (var kept in new[] { "dataset.json", "imagesTr/tiny_001.nii.gz", "labelsTr/tiny_003.nii.gz", "imagesTs/tiny_900.nii.gz" })
            Assert.True(File.Exists(Path.Combine(Folder(id), "volumes", kept)), kept);

        var cases = await db.DatasetCases.AsNoTracking().Where(c => c.DatasetId == id).ToListAsync();
        Assert.Equal(["tiny_001", "tiny_002", "tiny_003"], cases.Select(c => c.GroupKey).Distinct().Order());
        Assert.All(cases, c => Assert.Equal((12, 6, 0.8, 0.9), (c.Width, c.Height, Math.Round(c.SpacingX!.Value, 6), Math.Round(c.SpacingY!.Value, 6))));
        var slice = cases.Single(c => c.Name == "tiny_002_s004");
        Assert.Equal(("tiny_002", 4, "images/tiny_002_s004.tif", "masks/tiny_002_s004.png"), (slice.GroupKey, slice.SliceIndex, slice.ImagePath, slice.MaskPath));
        Assert.Equal(0b111, slice.LabelsPresent);
        Assert.Equal(0b001, cases.Single(c => c.Name == "tiny_002_s000").LabelsPresent);

        // Canonical RAS, not mirrored: pixel (row r, column c) of axial slice k is nibabel's canonical [c, rows − 1 − r, k].
        var image = ImageDecoder.DecodeFile(Path.Combine(Folder(id), slice.ImagePath));
        var labels = MaskReader.ReadLabels(Path.Combine(Folder(id), slice.MaskPath));
        var expectedImage = reference.GetProperty("image").EnumerateArray().Select(Nibabel.Doubles).ToArray();
        var expectedLabel = reference.GetProperty("label").EnumerateArray().Select(Nibabel.Doubles).ToArray();
        Assert.Equal((12, 6, 1), (image.Width, image.Height, image.Bands));
        for (var r = 0; r < 6; r++)
        for (var c = 0; c < 12; c++)
        {
            Assert.Equal((float)expectedImage[c][5 - r], image.Pixels[r * 12 + c]);
            Assert.Equal((byte)expectedLabel[c][5 - r], labels.Pixels[r * 12 + c]);
        }

        var overlay = await client.GetAsync($"/api/datasets/{id}/cases/{slice.Id}/overlay.png?size=64");
        Assert.Equal(HttpStatusCode.OK, overlay.StatusCode);
    }

    [Theory]
    [InlineData("drop", 12)]    // 4 slices with foreground per volume
    [InlineData("every-4", 18)] // and the 1st and 5th of the 6 empty slices
    [InlineData("keep", 30)]
    public async Task VolumeUploadAppliesTheEmptySliceRule(string rule, int slices)
    {
        using var dir = new TempDirectory("medseg-volumes");
        Nibabel.Run(Helpers + "\n" + Msd, dir.Path);

        var (client, id) = await UploadAsync(dir.Path, "tiny-" + rule, axis: "axial", emptySlices: rule);

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal(slices, dataset.GetProperty("cases").GetInt32());
        await using var db = Db();
        var names = await db.DatasetCases.Where(c => c.DatasetId == id && c.GroupKey == "tiny_001").Select(c => c.SliceIndex!.Value).ToListAsync();
        int[] expected = rule switch { "drop" => [3, 4, 5, 6], "every-4" => [0, 3, 4, 5, 6, 8], _ => [.. Enumerable.Range(0, 10)] };
        Assert.Equal(expected, names.Order());
        Assert.Equal(rule, VolumeSource.Parse((await db.Datasets.SingleAsync(d => d.Id == id)).SourceJson)!.EmptySlices);
    }

    [Fact]
    public async Task VolumeUploadCutsTheChosenAxis()
    {
        using var dir = new TempDirectory("medseg-volumes");
        Nibabel.Run(Helpers + "\n" + Msd, dir.Path);

        var (client, id) = await UploadAsync(dir.Path, "tiny-sagittal", axis: "sagittal");

        Assert.Equal(36, (await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}")).GetProperty("cases").GetInt32());
        await using var db = Db();
        var c = await db.DatasetCases.FirstAsync(x => x.DatasetId == id);
        // Sagittal: columns run posterior → anterior (canonical y, 6 × 0.9 mm), rows inferior → superior (z, 10 × 2.5 mm).
        Assert.Equal((6, 10, 0.9, 2.5), (c.Width, c.Height, Math.Round(c.SpacingX!.Value, 6), Math.Round(c.SpacingY!.Value, 6)));
    }

    [Fact]
    public async Task NnUnetChannelFilesBecomeOneMultiBandImageAndCtIsRecorded()
    {
        using var dir = new TempDirectory("medseg-volumes");
        var reference = Nibabel.Run(Helpers + "\n" + """
            for case in ('a', 'b'):
                save(f'imagesTr/{case}_0000.nii.gz', img(-1024, 1800)); save(f'imagesTr/{case}_0001.nii.gz', img(0, 5)); save(f'labelsTr/{case}.nii.gz', (lab() > 0).astype(np.uint8))
            meta({'channel_names': {'0': 'CT', '1': 'PET'}, 'labels': {'background': 0, 'lesion': 1}, 'numTraining': 2, 'file_ending': '.nii.gz'})
            print(json.dumps({'ct': canonical('imagesTr/b_0000.nii.gz')[:, :, 5].tolist(), 'pet': canonical('imagesTr/b_0001.nii.gz')[:, :, 5].tolist()}))
            """, dir.Path);

        var (client, id) = await UploadAsync(dir.Path, "petct");

        var dataset = await client.GetFromJsonAsync<JsonElement>($"/api/datasets/{id}");
        Assert.Equal((20, 1, 2), (dataset.GetProperty("cases").GetInt32(), dataset.GetProperty("classCount").GetInt32(), dataset.GetProperty("channels").GetInt32()));
        Assert.True(dataset.GetProperty("volumes").GetProperty("ct").GetBoolean());
        Assert.Equal(["background", "lesion"], dataset.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        await using var db = Db();
        var source = VolumeSource.Parse((await db.Datasets.SingleAsync(d => d.Id == id)).SourceJson)!;
        Assert.Equal("nnunetv2", source.Format);
        Assert.Equal([0], source.CtChannels);
        Assert.Equal(["volumes/imagesTr/b_0000.nii.gz", "volumes/imagesTr/b_0001.nii.gz"], source.Volumes.Single(v => v.Id == "b").Images);

        var slice = await db.DatasetCases.SingleAsync(c => c.DatasetId == id && c.Name == "b_s005");
        var image = ImageDecoder.DecodeFile(Path.Combine(Folder(id), slice.ImagePath));
        Assert.Equal(2, image.Bands);
        var ct = reference.GetProperty("ct").EnumerateArray().Select(Nibabel.Doubles).ToArray();
        var pet = reference.GetProperty("pet").EnumerateArray().Select(Nibabel.Doubles).ToArray();
        for (var r = 0; r < 6; r++)
        for (var c = 0; c < 12; c++)
        {
            Assert.Equal((float)ct[c][5 - r], image.Pixels[2 * (r * 12 + c)]);
            Assert.Equal((float)pet[c][5 - r], image.Pixels[2 * (r * 12 + c) + 1]);
        }
        var mask = MaskReader.Inspect(ImageDecoder.DecodeFile(Path.Combine(Folder(id), slice.MaskPath))).Content!;
        Assert.Equal(MaskEncoding.Binary01, mask.Encoding);
    }

    [Fact]
    public async Task DecathlonFourDImagesSliceToTwoBandsAndExportAsOneFilePerChannel()
    {
        using var dir = new TempDirectory("medseg-volumes");
        Nibabel.Run(Helpers + "\n" + """
            for i in (1, 2):
                save(f'imagesTr/p_{i}.nii.gz', np.stack([img(), img(-5, 5)], axis=-1)); save(f'labelsTr/p_{i}.nii.gz', lab())
            meta({'modality': {'0': 'T2', '1': 'ADC'}, 'labels': {'0': 'background', '1': 'PZ', '2': 'TZ'},
                  'training': [{'image': f'./imagesTr/p_{i}.nii.gz', 'label': f'./labelsTr/p_{i}.nii.gz'} for i in (1, 2)]})
            """, dir.Path);

        var (client, id) = await UploadAsync(dir.Path, "prostate-like");

        await using var db = Db();
        var slice = await db.DatasetCases.SingleAsync(c => c.DatasetId == id && c.Name == "p_1_s003");
        Assert.Equal(2, ImageDecoder.DecodeFile(Path.Combine(Folder(id), slice.ImagePath)).Bands);
        Assert.Equal(2, (await db.Datasets.SingleAsync(d => d.Id == id)).Channels);

        using var response = await client.GetAsync($"/api/datasets/{id}/export.zip");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var unpacked = new TempDirectory("medseg-export");
        await using (var body = await response.Content.ReadAsStreamAsync())
            await ZipFile.ExtractToDirectoryAsync(body, unpacked.Path);
        var original = NiftiVolume.Read(Path.Combine(dir.Path, "imagesTr", "p_1.nii.gz"));
        var n = original.Voxels.Length / 2;
        for (var ch = 0; ch < 2; ch++)
        {
            var exported = NiftiVolume.Read(Path.Combine(unpacked.Path, "imagesTr", $"p_1_{ch:D4}.nii.gz"));
            Assert.Equal((original.Shape, 1), (exported.Shape, exported.Channels));
            Assert.Equal(original.Affine, exported.Affine);
            Assert.Equal(original.Voxels[(ch * n)..((ch + 1) * n)], exported.Voxels);
        }
        var report = VolumeDatasetScanner.Scan(unpacked.Path);
        Assert.Empty(report.Problems);
        Assert.Equal(["T2", "ADC"], report.ChannelNames);
    }

    [Theory]
    [InlineData("truncated", "truncated")]
    [InlineData("garbage", "sizeof_hdr")]
    [InlineData("huge", "million voxels")]
    public async Task BrokenVolumeIsRefusedByNameAndNothingIsStored(string kind, string expected)
    {
        using var dir = new TempDirectory("medseg-volumes");
        Nibabel.Run(Helpers + "\n" + Msd + "\n" + """
            import gzip
            h = nib.Nifti1Header(); h.set_data_shape((4000, 4000, 4000)); h.set_data_dtype(np.float32); h.set_qform(A, 1); h["vox_offset"] = 352
            with gzip.open(root + '/huge.nii.gz', 'wb') as f: f.write(h.binaryblock + b'\0' * 4 + b'\0' * 1000)
            """, dir.Path);
        var broken = Path.Combine(dir.Path, "Task09_Tiny", "imagesTr", "tiny_002.nii.gz");
        var bytes = File.ReadAllBytes(broken);
        File.WriteAllBytes(broken, kind switch
        {
            "truncated" => bytes[..(bytes.Length / 2)],
            "garbage" => [.. Enumerable.Range(0, 4000).Select(i => (byte)(i * 7))],
            _ => File.ReadAllBytes(Path.Combine(dir.Path, "huge.nii.gz")),
        });
        File.Delete(Path.Combine(dir.Path, "huge.nii.gz"));
        var client = await factory.CreateAuthenticatedClientAsync();
        await using var db = Db();
        var before = await db.Datasets.CountAsync();
        var folders = Directory.Exists(Path.Combine(factory.DataRoot, "datasets")) ? Directory.GetDirectories(Path.Combine(factory.DataRoot, "datasets")).Length : 0;

        var response = await client.PostAsync("/api/datasets", Form("broken", Zip(dir.Path)));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        var error = Assert.Single(errors.EnumerateArray());
        Assert.Equal("Task09_Tiny/imagesTr/tiny_002.nii.gz", error.GetProperty("file").GetString());
        Assert.Contains(expected, error.GetProperty("problem").GetString());
        Assert.Equal(before, await db.Datasets.CountAsync());
        Assert.Equal(folders, Directory.Exists(Path.Combine(factory.DataRoot, "datasets")) ? Directory.GetDirectories(Path.Combine(factory.DataRoot, "datasets")).Length : 0);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(factory.DataRoot, "staging")));
    }

    [Theory]
    [InlineData("oblique", null, "axis")]
    [InlineData(null, "every-0", "emptySlices")]
    [InlineData(null, "some", "emptySlices")]
    public async Task UnknownSlicingOptionsAreRefusedByField(string? axis, string? emptySlices, string field)
    {
        using var dir = new TempDirectory("medseg-volumes");
        Nibabel.Run(Helpers + "\n" + Msd, dir.Path);
        var client = await factory.CreateAuthenticatedClientAsync();

        var response = await client.PostAsync("/api/datasets", Form("bad options", Zip(dir.Path), axis, emptySlices));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateArray());
        Assert.Equal(field, error.GetProperty("file").GetString());
    }

    [Fact]
    public async Task ExportOfAVolumeDatasetGivesTheOriginalsInTheNnUnetV2Layout()
    {
        using var dir = new TempDirectory("medseg-volumes");
        Nibabel.Run(Helpers + "\n" + Msd, dir.Path);
        var (client, id) = await UploadAsync(dir.Path, "tiny export", emptySlices: "drop");

        using var response = await client.GetAsync($"/api/datasets/{id}/export.zip");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/zip", response.Content.Headers.ContentType?.MediaType);
        using var unpacked = new TempDirectory("medseg-export");
        await using (var body = await response.Content.ReadAsStreamAsync())
            await ZipFile.ExtractToDirectoryAsync(body, unpacked.Path);
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(unpacked.Path, "dataset.json"))).RootElement;
        Assert.Equal("MRI", json.GetProperty("channel_names").GetProperty("0").GetString());
        Assert.Equal(2, json.GetProperty("labels").GetProperty("Posterior").GetInt32());
        Assert.Equal(3, json.GetProperty("numTraining").GetInt32());
        Assert.Equal(".nii.gz", json.GetProperty("file_ending").GetString());
        Assert.True(File.Exists(Path.Combine(unpacked.Path, "imagesTs", "tiny_900_0000.nii.gz")));
        foreach (var i in new[] { "001", "002", "003" })
        {
            var original = NiftiVolume.Read(Path.Combine(dir.Path, "Task09_Tiny", "imagesTr", $"tiny_{i}.nii.gz"));
            var exported = NiftiVolume.Read(Path.Combine(unpacked.Path, "imagesTr", $"tiny_{i}_0000.nii.gz"));
            Assert.Equal(original.Shape, exported.Shape);
            Assert.Equal(original.Affine, exported.Affine);
            Assert.Equal(original.Voxels, exported.Voxels);
            var label = NiftiVolume.Read(Path.Combine(unpacked.Path, "labelsTr", $"tiny_{i}.nii.gz"));
            Assert.Equal(NiftiVolume.Read(Path.Combine(dir.Path, "Task09_Tiny", "labelsTr", $"tiny_{i}.nii.gz")).Voxels, label.Voxels);
        }
        // The export is itself an upload: the nnU-Net v2 scanner reads it without a problem.
        var report = VolumeDatasetScanner.Scan(unpacked.Path);
        Assert.Empty(report.Problems);
        Assert.Equal(3, report.Training.Count);
    }

    [Fact]
    public async Task ExportOfA2DDatasetWritesOneSliceVolumesThatSliceBackToTheImages()
    {
        var client = await factory.CreateAuthenticatedClientAsync();
        var created = await client.PostAsync("/api/datasets", DatasetsApiTests.Upload("discs for export", SyntheticDataset.Zip(3, 32)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        using var response = await client.GetAsync($"/api/datasets/{id}/export.zip");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var unpacked = new TempDirectory("medseg-export");
        await using (var body = await response.Content.ReadAsStreamAsync())
            await ZipFile.ExtractToDirectoryAsync(body, unpacked.Path);
        var report = VolumeDatasetScanner.Scan(unpacked.Path);
        Assert.Empty(report.Problems);
        Assert.Equal(3, report.Training.Count);
        await using var db = Db();
        foreach (var c in await db.DatasetCases.Where(c => c.DatasetId == id).ToListAsync())
        {
            var volume = NiftiVolume.Read(Path.Combine(unpacked.Path, "imagesTr", $"{c.Name}_0000.nii.gz"));
            Assert.Equal((c.Width, c.Height, 1), volume.Shape);
            var slice = Assert.Single(VolumeSlicer.Slice(volume, SliceAxis.Axial, c.Name));
            var image = ImageDecoder.DecodeFile(Path.Combine(Folder(id), c.ImagePath));
            Assert.Equal(image.Bands == 1 ? image.Pixels : [.. Enumerable.Range(0, c.Width * c.Height).Select(p => image.Pixels[p * image.Bands])],
                slice.Image.Pixels);
            var label = Assert.Single(VolumeSlicer.Slice(NiftiVolume.Read(Path.Combine(unpacked.Path, "labelsTr", $"{c.Name}.nii.gz")), SliceAxis.Axial, c.Name));
            Assert.Equal(MaskReader.ReadLabels(Path.Combine(Folder(id), c.MaskPath)).Pixels.Select(v => (float)v), label.Image.Pixels);
        }
    }
}

public sealed class VolumeUploadComponentTests
{
    private static DatasetSummary Summary(VolumeSourceSummary? volumes) =>
        new(Guid.NewGuid(), "tiny", 30, DateTimeOffset.UtcNow, "me", 12, 12, 6, 6, 1, 0.1, 1000) { Volumes = volumes, Source = volumes is null ? "images" : "volumes" };

    [Fact]
    public async Task VolumeSourceInfoShowsTheVolumesAndTheAxisAutoChose()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<MedSeg.Web.Features.Datasets.Pages.VolumeSourceInfo>(p => p.Add(x => x.Dataset,
            Summary(new VolumeSourceSummary("msd", "auto", ["axial"], "every-4", 3, 1, ["CT"], Ct: true))));

        var text = cut.Find("[data-testid=volume-source]").TextContent;
        Assert.Contains("3 (+ 1 test)", text);
        Assert.Contains("auto → axial", text);
        Assert.Contains("every-4", text);
        Assert.Contains("CT (HU)", text);
        Assert.Contains("Decathlon", text);
    }

    [Fact]
    public async Task VolumeSourceInfoShowsNothingForImages()
    {
        await using var ctx = BunitSetup.NewContext();
        var cut = ctx.Render<MedSeg.Web.Features.Datasets.Pages.VolumeSourceInfo>(p => p.Add(x => x.Dataset, Summary(null)));
        Assert.Empty(cut.FindAll("[data-testid=volume-source]"));
    }
}
