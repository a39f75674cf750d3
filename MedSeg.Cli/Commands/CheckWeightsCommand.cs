using MedSeg.Engine.Isolation;
using MedSeg.Engine.Models.Weights;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg check-weights FILE --out REPORT</c>: reads a pretrained state dict (<c>.pt</c>/<c>.pth</c> or
/// <c>.safetensors</c>) and writes its fit to every registered model and variant (<see cref="WeightFit"/>, 3 input
/// channels, 1 class) as JSON. The web app's weights library runs it as a supervised child, so that a hostile or huge file
/// costs a child process, not the server; by hand it prints one line per variant that fits.</summary>
public sealed class CheckWeightsCommand : ICommand
{
    public string Name => ChildCommands.CheckWeights;

    public string Summary => "Check which model variants a pretrained weights file fits (writes a JSON report)";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("file", "The weights file (.pt/.pth written by torch.save, or .safetensors); may be given without --file", ValueName: "FILE", Positional: true),
        new("out", "Write the report (JSON) here", ValueName: "FILE"),
        new("parent-pipe", "Standard input is the parent's pipe: 'cancel' stops, end of input ends the process", IsFlag: true),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var file = InferenceCommandOptions.Require(options, "file");
        if (!File.Exists(file)) throw new UsageException($"--file: '{file}' does not exist.");
        var outPath = options.Get("out");
        if (options.Has("parent-pipe"))
        {
            if (outPath is null) throw new UsageException("--out FILE is required with --parent-pipe.");
            var events = new ChildEventWriter(output);
            return ChildHost.Run(events, watchParent: true, ct =>
            {
                WeightFit.CheckAll(file, ct).Write(outPath);
                return new ChildEvent { Kind = ChildEventKind.Finished };
            });
        }
        try
        {
            var report = WeightFit.CheckAll(file);
            if (outPath is not null) report.Write(outPath);
            output.WriteLine($"{report.File} ({report.Format}, {report.Tensors} tensors):");
            foreach (var fit in report.Fits) output.WriteLine($"  fits {fit.Target}: {fit.Summary}");
            if (report.Fits.Count == 0 && report.Closest is { } closest)
                output.WriteLine($"  fits no model; closest {closest.Target}: {closest.Summary}");
            return report.Fits.Count > 0 ? ExitCodes.Success : ExitCodes.Failure;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NotSupportedException or UnauthorizedAccessException)
        {
            error.WriteLine($"medseg check-weights: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}
