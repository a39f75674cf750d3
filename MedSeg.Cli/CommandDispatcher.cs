namespace MedSeg.Cli;

/// <summary>Exit codes: 0 success, 1 the command failed, 2 the command line was wrong.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}

/// <summary>Thrown for a bad command line; the dispatcher prints the message and the command's usage.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Options as parsed: values by name (without dashes) and flags that were given.</summary>
public sealed class ParsedOptions(IReadOnlyDictionary<string, string> values, IReadOnlySet<string> flags)
{
    public bool Has(string flag) => flags.Contains(flag);

    public string? Get(string name) => values.GetValueOrDefault(name);

    /// <summary>An integer option within [min, max], or the default when absent.</summary>
    public int GetInt(string name, int defaultValue, int min = 1, int max = int.MaxValue)
    {
        var text = Get(name);
        if (text is null) return defaultValue;
        if (!int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value))
            throw new UsageException($"--{name} takes a whole number; got '{text}'.");
        if (value < min || value > max)
            throw new UsageException($"--{name} must be between {min} and {max}; got {value}.");
        return value;
    }
}

/// <summary>Dispatches <c>medseg &lt;command&gt; [options]</c> to the matching <see cref="ICommand"/>, prints help and
/// usage errors.</summary>
public sealed class CommandDispatcher(IReadOnlyList<ICommand> commands)
{
    public int Run(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            if (args.Length > 1 && Find(args[1]) is { } target)
            {
                PrintCommandHelp(target, output);
                return ExitCodes.Success;
            }
            PrintHelp(output);
            return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Success;
        }
        var command = Find(args[0]);
        if (command is null)
        {
            error.WriteLine($"medseg: unknown command '{args[0]}'. Commands: {string.Join(", ", commands.Select(c => c.Name))}.");
            error.WriteLine("Run 'medseg --help' for usage.");
            return ExitCodes.Usage;
        }
        ParsedOptions parsed;
        try
        {
            parsed = Parse(command, args[1..]);
        }
        catch (UsageException e)
        {
            error.WriteLine($"medseg {command.Name}: {e.Message}");
            error.WriteLine($"Run 'medseg {command.Name} --help' for usage.");
            return ExitCodes.Usage;
        }
        if (parsed.Has("help"))
        {
            PrintCommandHelp(command, output);
            return ExitCodes.Success;
        }
        try
        {
            return command.Execute(parsed, output, error);
        }
        catch (UsageException e)
        {
            error.WriteLine($"medseg {command.Name}: {e.Message}");
            error.WriteLine($"Run 'medseg {command.Name} --help' for usage.");
            return ExitCodes.Usage;
        }
    }

    private ICommand? Find(string name) => commands.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));

    private static ParsedOptions Parse(ICommand command, string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var flags = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                flags.Add("help");
                continue;
            }
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                if (arg.Length > 2 || !arg.StartsWith('-'))
                {
                    if (command.Options.FirstOrDefault(o => o.Positional && !values.ContainsKey(o.Name)) is { } positional)
                    {
                        values[positional.Name] = arg;
                        continue;
                    }
                }
                throw new UsageException($"unexpected argument '{arg}'.");
            }
            var name = arg[2..];
            string? inline = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            var option = command.Options.FirstOrDefault(o => string.Equals(o.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new UsageException($"unknown option '--{name}'. Options: {string.Join(", ", command.Options.Select(o => "--" + o.Name))}.");
            if (option.IsFlag)
            {
                if (inline is not null) throw new UsageException($"--{option.Name} is a flag and takes no value.");
                flags.Add(option.Name);
                continue;
            }
            var value = inline ?? (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null);
            values[option.Name] = value ?? throw new UsageException($"--{option.Name} needs a value.");
        }
        return new ParsedOptions(values, flags);
    }

    private void PrintHelp(TextWriter output)
    {
        output.WriteLine("medseg: MedSeg command-line tool");
        output.WriteLine();
        output.WriteLine("Usage: medseg <command> [options]");
        output.WriteLine();
        output.WriteLine("Commands:");
        var width = commands.Max(c => c.Name.Length);
        foreach (var c in commands) output.WriteLine($"  {c.Name.PadRight(width)}  {c.Summary}");
        output.WriteLine();
        output.WriteLine("Run 'medseg <command> --help' for a command's options.");
    }

    private static void PrintCommandHelp(ICommand command, TextWriter output)
    {
        output.WriteLine($"medseg {command.Name}: {command.Summary}");
        output.WriteLine();
        output.WriteLine($"Usage: medseg {command.Name} [options]");
        output.WriteLine();
        output.WriteLine("Options:");
        var rows = command.Options
            .Select(o => (Left: o.IsFlag ? $"--{o.Name}" : $"--{o.Name} <{o.ValueName}>", Right: o.Default is null ? o.Description : $"{o.Description} (default {o.Default})"))
            .Append((Left: "-h, --help", Right: "Show this help"))
            .ToList();
        var width = rows.Max(r => r.Left.Length);
        foreach (var (left, right) in rows) output.WriteLine($"  {left.PadRight(width)}  {right}");
    }
}
