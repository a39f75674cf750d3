using System.Text.RegularExpressions;

namespace MedSeg.Web.Infrastructure;

/// <summary>
/// Keeps the server's file-system layout out of texts that users see: failure reasons stored with an experiment or a
/// prediction run (exception messages, a child's last stderr lines) often name absolute paths. Paths inside the data folder
/// become relative to it (<c>experiments/…/checkpoints/last.pt</c>: still useful, nothing to learn about the server); the
/// data folder itself becomes "the data folder"; any other absolute path becomes <see cref="Placeholder"/>. The logs keep the
/// full text.
/// </summary>
public static partial class ServerPaths
{
    public const string Placeholder = "(server path)";

    /// <summary><paramref name="message"/> without absolute paths; null stays null.</summary>
    public static string? Redact(string? message, string? dataRoot)
    {
        if (string.IsNullOrEmpty(message)) return message;
        var text = message;
        if (!string.IsNullOrWhiteSpace(dataRoot))
        {
            var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataRoot));
            foreach (var form in new[] { root, root.Replace('\\', '/'), root.Replace('/', '\\') }.Distinct())
            {
                text = text.Replace(form + "/", "", StringComparison.Ordinal).Replace(form + "\\", "", StringComparison.Ordinal);
                text = DataRootAlone(form).Replace(text, "the data folder");
            }
        }
        text = UnixPath().Replace(text, KeepTrailingPunctuation);
        return WindowsPath().Replace(text, KeepTrailingPunctuation);
    }

    /// <summary>A sentence's '.', ':' or ',' right after a path is not part of it.</summary>
    private static string KeepTrailingPunctuation(Match path)
    {
        var value = path.Value;
        var end = value.Length;
        while (end > 1 && ".:,!?".Contains(value[end - 1])) end--;
        return Placeholder + value[end..];
    }

    private static Regex DataRootAlone(string root) => new($"{Regex.Escape(root)}(?![\\w-]|\\.\\w)", RegexOptions.CultureInvariant);

    /// <summary>A '/' that starts a word (not a URL's "//" or "a/b", not "3/4"), followed by path characters.</summary>
    [GeneratedRegex(@"(?<![\w.:/\\~-])/[^\s'""`<>|*?,;()\[\]{}]+", RegexOptions.CultureInvariant)]
    private static partial Regex UnixPath();

    /// <summary><c>C:\…</c>, <c>C:/…</c> and UNC <c>\\server\share…</c>.</summary>
    [GeneratedRegex(@"(?<![\w])(?:[A-Za-z]:[\\/]|\\\\)[^\s'""`<>|*?,;()\[\]{}]*", RegexOptions.CultureInvariant)]
    private static partial Regex WindowsPath();
}
