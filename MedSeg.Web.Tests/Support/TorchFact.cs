using System.Diagnostics;

namespace MedSeg.Web.Tests.Support;

/// <summary>A fact that needs PyTorch in Python (Debian's python3-torch): skipped, with the reason and how to install it,
/// when <c>import torch</c> fails in both <c>/usr/bin/python3</c> and the <c>python3</c> on PATH.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (TorchPython.Interpreter is null) Skip = TorchPython.Missing;
    }
}

/// <summary>The Python interpreter that imports torch. Debian's (/usr/bin/python3) is tried first: a python3 earlier on
/// PATH (pyenv, a virtualenv) does not see Debian's packages.</summary>
public static class TorchPython
{
    public const string Missing = "python3-torch is missing: `python3 -c \"import torch\"` fails, so the check that an export " +
        "loads in PyTorch is skipped. Install it as root (apt-get install --no-install-recommends python3-torch) to run it.";

    private static readonly Lazy<string?> Found = new(Find);

    public static string? Interpreter => Found.Value;

    /// <summary>Runs <c>python args…</c>; its standard output, or an exception with its standard error.</summary>
    public static string Run(TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(Interpreter ?? throw new InvalidOperationException(Missing))
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"python ran over {timeout.TotalSeconds} s.");
        }
        if (process.ExitCode != 0) throw new Xunit.Sdk.XunitException($"python failed ({process.ExitCode}):\n{stderr.Result}");
        return stdout.Result;
    }

    private static string? Find() => DebianPython.Find("torch");
}
