using MedSeg.Engine.Export;
using MedSeg.Engine.Isolation;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg export</c>: <see cref="ModelExporter.Export"/> of a run (model.dat, model.pt, model.safetensors, model.json).
/// The web app's weight download runs it as a supervised child (<see cref="ChildCommands.ExportOf"/>), so that loading the model
/// costs a child process, not the server.</summary>
public sealed class ExportCommand : ICommand
{
    public string Name => ChildCommands.Export;

    public string Summary => "Export a run's weights for PyTorch/TorchSharp with model.json (docs/weights.md)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("run", "Training run directory", ValueName: "DIR"),
        new("out", "Output folder (created)", ValueName: "DIR"),
        new("checkpoint", "best or last (default: best, else last)", ValueName: "TAG"),
        new("parent-pipe", "Standard input is the parent's pipe: 'cancel' stops, end of input ends the process", IsFlag: true),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var run = InferenceCommandOptions.RequireDirectory(options, "run");
        var outDir = InferenceCommandOptions.Require(options, "out");
        var tag = options.Get("checkpoint");
        if (tag is not null and not "best" and not "last") throw new UsageException($"--checkpoint must be best or last; got '{tag}'.");
        if (options.Has("parent-pipe"))
        {
            var events = new ChildEventWriter(output);
            return ChildHost.Run(events, watchParent: true, _ =>
            {
                ModelExporter.Export(run, outDir, tag);
                return new ChildEvent { Kind = ChildEventKind.Finished };
            });
        }
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
