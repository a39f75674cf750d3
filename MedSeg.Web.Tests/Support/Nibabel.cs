using System.Diagnostics;
using System.Text.Json;

namespace MedSeg.Web.Tests.Support;

/// <summary>
/// Runs Python with nibabel and numpy (Debian's python3-nibabel) to write reference NIfTI files at test time and to read
/// ours back: the reference implementation the NIfTI tests compare against. Debian's interpreter (/usr/bin/python3) is
/// preferred, because a python3 earlier on PATH (pyenv, a virtualenv) does not see Debian's packages. When nibabel cannot
/// be imported the test fails, never skips, and says how to install it.
/// </summary>
public static class Nibabel
{
    public const string Missing = "python3-nibabel is missing (the NIfTI tests write their reference volumes with nibabel). Run the " +
        "tests with scripts/test.sh as the README says (it installs python3-nibabel), or install it as root: " +
        "apt-get install --no-install-recommends python3-nibabel.";

    private static readonly Lazy<string?> Interpreter = new(Find);

    /// <summary>Runs <paramref name="script"/> (numpy as np, nibabel as nib and json already imported; <c>args</c> holds
    /// <paramref name="args"/>) and parses what it prints as JSON.</summary>
    public static JsonElement Run(string script, params string[] args)
    {
        var python = Interpreter.Value ?? throw new Xunit.Sdk.XunitException(Missing);
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("import sys, json, warnings\nimport numpy as np\nimport nibabel as nib\nargs = sys.argv[1:]\n" + script);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new Xunit.Sdk.XunitException("the nibabel script ran over 2 minutes.");
        }
        if (process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"the nibabel script failed ({process.ExitCode}):\n{stderr.Result}");
        using var doc = JsonDocument.Parse(stdout.Length == 0 ? "null" : stdout);
        return doc.RootElement.Clone();
    }

    private static string? Find() => DebianPython.Find("nibabel, numpy");

    public static double[] Doubles(this JsonElement e) => [.. e.EnumerateArray().Select(x => x.GetDouble())];

    public static double[,] Matrix(this JsonElement e)
    {
        var rows = e.EnumerateArray().Select(Doubles).ToArray();
        var m = new double[rows.Length, rows[0].Length];
        for (var r = 0; r < rows.Length; r++)
        for (var c = 0; c < rows[r].Length; c++)
            m[r, c] = rows[r][c];
        return m;
    }
}
