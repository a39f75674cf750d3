using MedSeg.Engine.Data;
using MedSeg.Engine.Inference;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg predict</c>: one PNG mask per image of a folder, named by the image's file stem (0/255 for binary
/// models, label indices for multi-class ones), at the image's original size.</summary>
public sealed class PredictCommand : ICommand
{
    public string Name => "predict";

    public string Summary => "Predict a PNG mask for every image of a folder";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        .. InferenceCommandOptions.Common,
        new("input", "Folder of images (PNG, JPEG, TIFF, BMP)", ValueName: "DIR"),
        new("out", "Output folder for the masks (created)", ValueName: "DIR"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var run = InferenceCommandOptions.RequireDirectory(options, "run");
        var input = InferenceCommandOptions.RequireDirectory(options, "input");
        var outDir = InferenceCommandOptions.Require(options, "out");
        var inference = InferenceCommandOptions.Parse(options);
        var images = Directory.EnumerateFiles(input)
            .Where(f => ImageDecoder.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToList();
        if (images.Count == 0)
            throw new UsageException($"--input: '{input}' holds no images ({string.Join(", ", ImageDecoder.Extensions)}).");
        var duplicate = images.GroupBy(Path.GetFileNameWithoutExtension).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new UsageException($"--input: {string.Join(" and ", duplicate.Select(Path.GetFileName))} would both be written as {duplicate.Key}.png.");
        // The input is from outside: every file's size, content and header are checked before anything is decoded.
        var refused = 0;
        foreach (var image in images)
        {
            try
            {
                ImageDecoder.ReadHeader(ImageDecoder.ReadFile(image, ImageLimits.Default), ImageLimits.Default, image);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                error.WriteLine($"medseg predict: {Path.GetFileName(image)}: {e.Message}");
                refused++;
            }
        }
        if (refused > 0)
        {
            error.WriteLine($"medseg predict: {refused} file(s) refused; nothing was predicted.");
            return ExitCodes.Failure;
        }
        try
        {
            using var predictor = Predictor.Load(run, options.Get("device") ?? "auto", inference);
            Directory.CreateDirectory(outDir);
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            TerminalProgress.Run(output, progress =>
            {
                var task = progress?.AddTask("predicting", maxValue: images.Count);
                foreach (var chunk in images.Chunk(inference.BatchSize))
                {
                    var masks = predictor.PredictMany(chunk);
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        var path = Path.Combine(outDir, Path.GetFileNameWithoutExtension(chunk[i]) + ".png");
                        File.WriteAllBytes(path + ".tmp", predictor.EncodePng(masks[i]));
                        File.Move(path + ".tmp", path, overwrite: true);
                    }
                    task?.Increment(chunk.Length);
                }
            });
            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            output.WriteLine(FormattableString.Invariant($"Wrote {images.Count} mask(s) to {Path.GetFullPath(outDir)} in {seconds:F1} s."));
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"medseg predict: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
