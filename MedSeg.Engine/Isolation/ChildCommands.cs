namespace MedSeg.Engine.Isolation;

/// <summary>
/// Where the child processes come from: the <c>medseg</c> tool (MedSeg.Cli) built beside the app, run by the same .NET
/// host (<c>dotnet medseg.dll run-experiment --plan FILE --parent-pipe</c>). The web app references MedSeg.Cli so that
/// the build puts <c>medseg.dll</c> and its runtime configuration next to it.
/// </summary>
public static class ChildCommands
{
    public const string RunExperiment = "run-experiment";
    public const string RunPrediction = "run-prediction";
    /// <summary><c>medseg check-weights FILE --out REPORT</c>: the fit of a weights file to every model variant.</summary>
    public const string CheckWeights = "check-weights";
    /// <summary><c>medseg export --run RUN --out DIR</c>: <see cref="Export.ModelExporter.Export"/> of a run's best (else last) checkpoint.</summary>
    public const string Export = "export";
    /// <summary>Tells the child that its standard input is the supervisor's pipe (see <see cref="ChildHost"/>).</summary>
    public const string ParentPipeFlag = "--parent-pipe";

    /// <summary>The start of <c>medseg VERB --plan PLAN --parent-pipe</c>; <paramref name="medsegDll"/> defaults to the one beside this app.</summary>
    public static ChildStart Medseg(string verb, string planPath, string what, string? medsegDll = null, IReadOnlyList<string>? extraArguments = null)
        => Verb(verb, ["--plan", planPath, .. extraArguments ?? []], what, medsegDll);

    /// <summary>The start of <c>medseg check-weights FILE --out REPORT --parent-pipe</c> (<see cref="Models.Weights.WeightFit.CheckAll"/>).</summary>
    public static ChildStart CheckWeightsOf(string weightsPath, string reportPath, string? medsegDll = null) =>
        Verb(CheckWeights, [weightsPath, "--out", reportPath], "weights check process", medsegDll);

    /// <summary>The start of <c>medseg export --run RUN --out DIR --parent-pipe</c> (<see cref="Export.ModelExporter.Export"/>).</summary>
    public static ChildStart ExportOf(string runDirectory, string outputDirectory, string? medsegDll = null) =>
        Verb(Export, ["--run", runDirectory, "--out", outputDirectory], "export process", medsegDll);

    /// <summary>The start of <c>medseg VERB ARGUMENTS --parent-pipe</c>.</summary>
    public static ChildStart Verb(string verb, IReadOnlyList<string> arguments, string what, string? medsegDll = null)
    {
        var dll = medsegDll ?? Path.Combine(AppContext.BaseDirectory, "medseg.dll");
        if (!File.Exists(dll))
            throw new FileNotFoundException($"The child program {dll} is missing: build MedSeg.Cli beside the app (MedSeg.Web references it).", dll);
        return new ChildStart(DotnetHost(), ["exec", dll, verb, .. arguments, ParentPipeFlag], what);
    }

    /// <summary>The .NET host running this process (or the one the SDK names), else <c>dotnet</c> on the PATH.</summary>
    public static string DotnetHost()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
        if (Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "dotnet")))
            return Path.Combine(root, "dotnet");
        return "dotnet";
    }
}
