using System.Security.Cryptography;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Data.Files;
using MedSeg.Engine.Isolation;
using MedSeg.Engine.Models.Weights;
using MedSeg.Web.Features.Audit;
using MedSeg.Web.Features.Shared;
using MedSeg.Web.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace MedSeg.Web.Features.Weights;

/// <summary>
/// The pretrained-weights library: encoder weights an admin uploads (PyTorch <c>.pt</c>/<c>.pth</c> or <c>.safetensors</c>;
/// nothing is downloaded), stored as <c>weights/{id}.{ext}</c> under the data root with their sha256 and the model variants
/// they fit (<see cref="WeightFit"/>: 90 % of the file's tensors load and cover 90 % of the encoder). The file's tensors
/// are only ever read in a child process (<c>medseg check-weights</c>, under the jobs' memory ceiling and
/// <see cref="LimitsOptions.WeightsCheckSeconds"/>): a hostile or huge file costs that child, not the server.
/// A refused upload leaves nothing behind.
/// </summary>
public sealed class WeightsService(IDbContextFactory<MedSegDbContext> contexts, ArtifactStore store, IOptions<LimitsOptions> limits,
    IOptions<JobsOptions> jobs, AuditLog audit, ILogger<WeightsService> logger)
{
    public const string Folder = "weights";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly string[] Extensions = [".pt", ".pth", ".bin", ".safetensors"];

    /// <summary>Every file of the library, newest first (any signed-in user may list them to choose one).</summary>
    public async Task<IReadOnlyList<WeightsView>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.WeightsFiles.AsNoTracking().ToListAsync(ct);
        return [.. rows.OrderByDescending(w => w.CreatedAt).Select(View)];
    }

    /// <summary>The files that fit <paramref name="model"/> in <paramref name="variant"/> (null: its default variant).</summary>
    public async Task<IReadOnlyList<WeightsView>> ListFittingAsync(string model, string? variant, CancellationToken ct = default)
    {
        if (!Engine.Models.ModelRegistry.Contains(model)) return [];
        string resolved;
        try
        {
            resolved = WeightFit.ResolveVariant(model, variant);
        }
        catch (ArgumentException)
        {
            return [];
        }
        return [.. (await ListAsync(ct)).Where(w => w.FitsModel(model, resolved))];
    }

    public async Task<WeightsView?> GetAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.WeightsFiles.AsNoTracking().FirstOrDefaultAsync(w => w.Id == id, ct) is { } row ? View(row) : null;
    }

    /// <summary>Null when <paramref name="weightsId"/> is null (from scratch) or the file fits the model variant; otherwise
    /// the sentence that refuses it ("weights X do not fit segformer b1; they fit: segformer b0").</summary>
    public async Task<string?> CheckAsync(Guid? weightsId, string model, string? variant, CancellationToken ct = default)
    {
        if (weightsId is not { } id) return null;
        var weights = await GetAsync(id, ct);
        if (weights is null) return $"Weights {id} are not in the weights library (deleted?); choose others or train from scratch.";
        if (!Engine.Models.ModelRegistry.Contains(model))
            return $"Unknown model '{model}'. Registered models: {string.Join(", ", Engine.Models.ModelRegistry.Names)}.";
        string resolved;
        try
        {
            resolved = WeightFit.ResolveVariant(model, variant);
        }
        catch (ArgumentException e)
        {
            return e.Message.Split(" (Parameter", 2)[0];
        }
        if (weights.FitsModel(model, resolved)) return null;
        return $"Weights {weights.Name} do not fit {WeightFit.Describe(model.ToLowerInvariant(), resolved)}; they fit: " +
               string.Join(", ", weights.Fits.Select(f => f.Target)) + ".";
    }

    /// <summary>The absolute path of a stored file, for a training plan; null when there is no such file.</summary>
    public async Task<string?> StoredPathAsync(Guid id, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.WeightsFiles.AsNoTracking().FirstOrDefaultAsync(w => w.Id == id, ct);
        if (row is null) return null;
        var path = ArtifactStore.Resolve(store.Root, row.StoredPath);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Checks a received file in a child and stores it when something fits. <paramref name="name"/> null or empty:
    /// the file name without its extension.</summary>
    public async Task<WeightsUploadResult> UploadAsync(StagedFile file, string? name, UserContext user, CancellationToken ct = default)
    {
        if (!user.IsAdmin) return new WeightsUploadResult.Forbidden();
        var fileName = string.IsNullOrWhiteSpace(file.FileName) ? "(upload)" : file.FileName;
        var limit = limits.Value.WeightsBytes;
        if (file.Length > limit)
            return new WeightsUploadResult.Refused(fileName, TooLarge(limits.Value), StatusCodes.Status413PayloadTooLarge);
        if (file.Length == 0) return new WeightsUploadResult.Refused(fileName, $"{fileName} is empty.");
        var title = string.IsNullOrWhiteSpace(name) ? Path.GetFileNameWithoutExtension(fileName) : name.Trim();
        if (title.Length is 0 or > 200) return new WeightsUploadResult.Refused(fileName, "The name must be 1 to 200 characters.");

        // The header alone (no tensor is read here): refuse what is no state dict before a child is started.
        string format;
        try
        {
            format = StateDictFile.Identify(file.Path);
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException)
        {
            return new WeightsUploadResult.Refused(fileName, $"{fileName} is not a state dict: {Named(e.Message, file.Path, fileName)}");
        }

        string sha;
        await using (var stream = File.OpenRead(file.Path)) sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            if (await db.WeightsFiles.AsNoTracking().FirstOrDefaultAsync(w => w.Sha256 == sha, ct) is { } same)
                return new WeightsUploadResult.Refused(fileName, $"{fileName} is already in the weights library as {same.Name} (same sha256).",
                    StatusCodes.Status409Conflict);
        }

        var (report, refusal) = await CheckInChildAsync(file.Path, fileName, ct);
        if (report is null) return new WeightsUploadResult.Refused(fileName, refusal!);
        var fits = report.Fits;
        if (fits.Count == 0)
        {
            var closest = report.Closest is { } c ? $" The closest is {c.Target}: {c.Summary}." : "";
            return new WeightsUploadResult.Refused(fileName,
                $"{fileName} fits no model of the zoo ({report.Tensors} tensors).{closest} A file fits a model when at least 90 % of its " +
                "tensors load and they cover at least 90 % of the model's encoder (torchvision ResNet/MobileNetV2, MiT for SegFormer, " +
                "or a whole-model state dict).");
        }

        var id = Guid.NewGuid();
        var ext = Extension(fileName, format);
        var relative = $"{Folder}/{id:N}{ext}";
        var target = ArtifactStore.Resolve(store.Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(file.Path, target);
        var row = new WeightsFile
        {
            Id = id,
            Name = title,
            FileName = fileName.Length > 400 ? fileName[..400] : fileName,
            StoredPath = relative,
            Format = format == "safetensors" ? "safetensors" : "pytorch",
            SizeBytes = file.Length,
            Sha256 = sha,
            FitsJson = JsonSerializer.Serialize(fits.Select(f => f with { Report = Named(f.Report, file.Path, fileName) }).ToList(), Json),
            UploadedById = user.UserId,
        };
        try
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            db.WeightsFiles.Add(row);
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch
        {
            TryDelete(target);
            throw;
        }
        await audit.WriteAsync(user, new AuditRecord(AuditActions.WeightsUpload, "weights", id.ToString(),
            $"{title} ({fileName}), fits {string.Join(", ", fits.Select(f => f.Target))}"), ct);
        logger.LogInformation("Weights {Name} ({Id}) stored; fit {Fits}", title, id, string.Join(", ", fits.Select(f => f.Target)));
        return new WeightsUploadResult.Stored(View(row));
    }

    /// <summary>Removes a file from the library (admins). Experiments that were launched with it keep a plan naming a file that
    /// is gone: a fresh start of one fails with that reason, a resume does not need it.</summary>
    public async Task<bool?> DeleteAsync(Guid id, UserContext user, CancellationToken ct = default)
    {
        if (!user.IsAdmin) return null;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.WeightsFiles.FirstOrDefaultAsync(w => w.Id == id, ct);
        if (row is null) return false;
        db.WeightsFiles.Remove(row);
        await db.SaveChangesAsync(ct);
        TryDelete(ArtifactStore.Resolve(store.Root, row.StoredPath));
        await audit.WriteAsync(user, new AuditRecord(AuditActions.WeightsDelete, "weights", id.ToString(), $"{row.Name} ({row.FileName})"), ct);
        return true;
    }

    public static string TooLarge(LimitsOptions limits) =>
        $"The weights file is larger than the {Format.Bytes(limits.WeightsBytes)} the weights library accepts (MedSeg:Limits:WeightsBytes); " +
        "ask the administrator to raise the limit.";

    /// <summary>Runs <c>medseg check-weights</c> on the staged file; the report, or the sentence that refuses the file.</summary>
    private async Task<(WeightsCheckReport? Report, string? Refusal)> CheckInChildAsync(string path, string fileName, CancellationToken ct)
    {
        var reportPath = Path.Combine(Path.GetDirectoryName(path)!, "..", "check-report.json");
        var start = ChildCommands.CheckWeightsOf(path, Path.GetFullPath(reportPath)) with
        {
            Environment = jobs.Value.ChildEnvironment.ToDictionary(kv => kv.Key, kv => (string?)kv.Value),
        };
        var seconds = limits.Value.WeightsCheckSeconds;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        var outcome = await ChildSupervisor.RunAsync(start, jobs.Value.ChildLimits, _ => { },
            line => logger.LogDebug("Weights check child: {Line}", line), timeout.Token);
        if (outcome.End == ChildEnd.Finished && File.Exists(reportPath)) return (WeightsCheckReport.Read(reportPath), null);
        ct.ThrowIfCancellationRequested();
        logger.LogWarning("Checking weights {File} failed: {Reason}", fileName, outcome.Reason);
        var reason = Named(outcome.Reason, path, fileName);
        return (null, outcome switch
        {
            { End: ChildEnd.Cancelled } => $"{fileName} could not be checked within {seconds} s (MedSeg:Limits:WeightsCheckSeconds).",
            { End: ChildEnd.Failed, Failure: ChildFailureKind.Invalid } => $"{fileName} is not a state dict MedSeg can read: {reason}",
            { End: ChildEnd.MemoryCeiling } => $"{fileName} could not be checked: {reason}",
            _ => $"{fileName} could not be read: {reason}",
        });
    }

    /// <summary>The message with the staged path replaced by the uploaded file's name, and no other server path.</summary>
    private string Named(string message, string stagedPath, string fileName) =>
        ServerPaths.Redact(message.Replace(stagedPath, fileName, StringComparison.Ordinal), store.Root) ?? "";

    private static string Extension(string fileName, string format)
    {
        var ext = Path.GetExtension(fileName).ToLowerInvariant();
        if (Extensions.Contains(ext) && (ext == ".safetensors") == (format == "safetensors")) return ext;
        return format == "safetensors" ? ".safetensors" : ".pth";
    }

    private WeightsView View(WeightsFile row)
    {
        List<WeightFitResult> fits;
        try
        {
            fits = JsonSerializer.Deserialize<List<WeightFitResult>>(row.FitsJson, Json) ?? [];
        }
        catch (JsonException e)
        {
            logger.LogWarning(e, "Weights {Id}: unreadable FitsJson", row.Id);
            fits = [];
        }
        return new WeightsView(row.Id, row.Name, row.FileName, row.Format, row.SizeBytes, row.Sha256, row.CreatedAt,
            [.. fits.Select(f => new WeightsFitView(f.Model, f.Variant, f.Target, f.Summary, f.Loaded, f.FileTensors, f.ScopeTensors, f.Mapping, f.Report))]);
    }

    private void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogWarning(e, "Could not delete {Path}", path);
        }
    }
}
