using MedSeg.Engine.Export;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg export</c>: <see cref="ModelExporter.Export"/> of a run (model.dat, model.pt, model.safetensors, model.json).</summary>
public sealed class ExportCommand : ICommand
{
    public string Name => "export";

    public string Summary => "Export a run's weights for PyTorch/TorchSharp with model.json (docs/weights.md)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("run", "Training run directory", ValueName: "DIR"),
        new("out", "Output folder (created)", ValueName: "DIR"),
        new("checkpoint", "best or last (default: best, else last)", ValueName: "TAG"),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var run = InferenceCommandOptions.RequireDirectory(options, "run");
        var outDir = InferenceCommandOptions.Require(options, "out");
        var tag = options.Get("checkpoint");
        if (tag is not null and not "best" and not "last") throw new UsageException($"--checkpoint must be best or last; got '{tag}'.");
        try
        {
            var result = ModelExporter.Export(run, outDir, tag);
            output.WriteLine($"Exported {result.Manifest.Architecture.Name} ({result.Manifest.Checkpoint.Tag}, epoch {result.Manifest.Checkpoint.Epoch}) to {Path.GetFullPath(outDir)}");
            return ExitCodes.Success;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException)
        {
            error.WriteLine($"medseg export: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
