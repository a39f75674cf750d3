namespace MedSeg.Cli;

/// <summary>One <c>medseg</c> sub-command.</summary>
public interface ICommand
{
    /// <summary>The word typed after <c>medseg</c>.</summary>
    string Name { get; }

    /// <summary>One line for the command list.</summary>
    string Summary { get; }

    /// <summary>The options this command accepts; <c>--help</c> is added by the dispatcher.</summary>
    IReadOnlyList<CommandOption> Options { get; }

    /// <summary>Runs with parsed options; returns the process exit code.</summary>
    int Execute(ParsedOptions options, TextWriter output, TextWriter error);
}

/// <summary>A <c>--name value</c> option (or a flag when <paramref name="IsFlag"/>), with its default as shown in help.
/// <paramref name="Positional"/>: the value may also be given without the name (<c>medseg check-weights FILE</c>).</summary>
public sealed record CommandOption(string Name, string Description, string? Default = null, bool IsFlag = false, string ValueName = "N",
    bool Positional = false);
