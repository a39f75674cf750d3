namespace MedSeg.Web.Features.Weights;

/// <summary>One model variant a weights file fits, with its key report (summary line and full text).</summary>
public sealed record WeightsFitView(string Model, string Variant, string Target, string Summary, int Loaded, int FileTensors,
    int ScopeTensors, string Mapping, string Report);

/// <summary>A file of the weights library as <c>GET /api/weights</c> and the pages show it.</summary>
public sealed record WeightsView(Guid Id, string Name, string FileName, string Format, long SizeBytes, string Sha256,
    DateTimeOffset CreatedAt, IReadOnlyList<WeightsFitView> Fits)
{
    public bool FitsModel(string model, string variant) =>
        Fits.Any(f => string.Equals(f.Model, model, StringComparison.OrdinalIgnoreCase) && string.Equals(f.Variant, variant, StringComparison.OrdinalIgnoreCase));
}

/// <summary>How an upload into the weights library ended.</summary>
public abstract record WeightsUploadResult
{
    public sealed record Stored(WeightsView Weights) : WeightsUploadResult;

    /// <summary>Refused; <paramref name="File"/> names the uploaded file, <paramref name="Problem"/> says why and what to do.</summary>
    public sealed record Refused(string File, string Problem, int Status = StatusCodes.Status400BadRequest) : WeightsUploadResult;

    public sealed record Forbidden : WeightsUploadResult;
}
