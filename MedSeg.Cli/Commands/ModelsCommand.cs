using System.Globalization;
using MedSeg.Engine.Models;
using MedSeg.Engine.Models.Blocks;

namespace MedSeg.Cli.Commands;

/// <summary><c>medseg models</c>: every registered architecture with its parameters and multiply-accumulates at a given
/// input size (one forward pass per model on the CPU).</summary>
public sealed class ModelsCommand : ICommand
{
    public string Name => "models";

    public string Summary => "List the model zoo with parameters (M) and GMACs at an input size";

    public IReadOnlyList<CommandOption> Options { get; } =
    [
        new("size", "Input height and width in pixels", "256"),
        new("in", "Input channels", "3"),
        new("classes", "Output classes (1 = binary)", "1"),
        new("all-variants", "One row per variant instead of the default variant only", IsFlag: true),
    ];

    public int Execute(ParsedOptions options, TextWriter output, TextWriter error)
    {
        var size = options.GetInt("size", 256, min: 16, max: 4096);
        var inChannels = options.GetInt("in", 3, max: 64);
        var classes = options.GetInt("classes", 1, max: 1000);
        var allVariants = options.Has("all-variants");

        var rows = new List<string[]> { new[] { "name", "variant", "params (M)", $"GMACs @{size}²" } };
        var failed = false;
        foreach (var info in ModelRegistry.All)
        {
            IEnumerable<string> variants = allVariants ? info.VariantNames : [info.DefaultVariant];
            foreach (var variant in variants)
            {
                using var model = info.Factory(new ModelOptions(inChannels, classes, variant));
                var variantName = variant;
                var parameters = (model.ParameterCount() / 1e6).ToString("F2", CultureInfo.InvariantCulture);
                string macs;
                if (size % model.SizeMultiple != 0)
                {
                    macs = $"n/a (size must be a multiple of {model.SizeMultiple})";
                }
                else
                {
                    try
                    {
                        macs = Complexity.Measure(model, inChannels, size, size).GMacs.ToString("F2", CultureInfo.InvariantCulture);
                    }
                    catch (NotSupportedException e)
                    {
                        macs = $"n/a ({e.Message})";
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
                    {
                        macs = "error";
                        failed = true;
                        error.WriteLine($"{info.Name} {variantName}: {e.Message}");
                    }
                }
                rows.Add([info.Name, variantName, parameters, macs]);
            }
        }
        WriteTable(rows, output);
        output.WriteLine();
        output.WriteLine("GMACs = 10⁹ multiply-accumulates of conv, transposed-conv, linear and attention matmuls (thop/ptflops convention; papers print these as \"GFLOPs\").");
        return failed ? ExitCodes.Failure : ExitCodes.Success;
    }

    /// <summary>Plain aligned columns: text left-aligned, numbers right-aligned.</summary>
    private static void WriteTable(List<string[]> rows, TextWriter output)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            var cells = rows[r].Select((cell, c) => c >= 2 && r > 0 && double.TryParse(cell, CultureInfo.InvariantCulture, out _)
                ? cell.PadLeft(widths[c])
                : cell.PadRight(widths[c]));
            output.WriteLine(string.Join("  ", cells).TrimEnd());
            if (r == 0) output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        }
    }
}
