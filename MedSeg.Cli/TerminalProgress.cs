using Spectre.Console;

namespace MedSeg.Cli;

/// <summary>
/// Spectre.Console progress bars (description, bar, percentage, elapsed, remaining) when the command writes to an
/// interactive terminal; otherwise the work runs with no context and the commands print plain lines only, so logs,
/// pipes and tests see stable text. Lines printed while bars are live go through <see cref="WriteLine"/>, which prints
/// them above the bars.
/// </summary>
internal static class TerminalProgress
{
    /// <summary>True when <paramref name="output"/> is the process's stdout and that is an interactive terminal.</summary>
    public static bool Enabled(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with a progress context on a terminal, or with null elsewhere.</summary>
    public static T Run<T>(TextWriter output, Func<ProgressContext?, T> work)
    {
        if (!Enabled(output)) return work(null);
        var result = default(T)!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context => result = work(context));
        return result;
    }

    /// <summary><see cref="Run{T}"/> for work without a result.</summary>
    public static void Run(TextWriter output, Action<ProgressContext?> work) => Run(output, context =>
    {
        work(context);
        return true;
    });

    /// <summary>A plain line, printed above live bars when there are any.</summary>
    public static void WriteLine(TextWriter output, ProgressContext? context, string line)
    {
        if (context is null) output.WriteLine(line);
        else AnsiConsole.WriteLine(line);
    }
}
