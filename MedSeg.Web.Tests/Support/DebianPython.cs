using System.Diagnostics;

namespace MedSeg.Web.Tests.Support;

/// <summary>The Python that can import what a test needs: Debian's interpreter (/usr/bin/python3) first, because a python3
/// earlier on PATH (pyenv, a virtualenv) does not see Debian's packages (python3-nibabel, python3-torch).</summary>
public static class DebianPython
{
    /// <summary>The first interpreter where <paramref name="imports"/> (e.g. <c>"torch"</c>, <c>"nibabel, numpy"</c>) imports; null when none.</summary>
    public static string? Find(string imports)
    {
        foreach (var candidate in new[] { "/usr/bin/python3", "python3" })
        {
            try
            {
                var info = new ProcessStartInfo(candidate, ["-c", "import " + imports])
                    { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                using var p = Process.Start(info)!;
                p.StandardError.ReadToEnd();
                if (p.WaitForExit(60_000) && p.ExitCode == 0) return candidate;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // not installed under that name
            }
        }
        return null;
    }
}
