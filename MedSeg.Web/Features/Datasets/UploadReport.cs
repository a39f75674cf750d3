using System.Text;
using System.Text.RegularExpressions;
using MedSeg.Engine.Data;

namespace MedSeg.Web.Features.Datasets;

/// <summary>A kind of problem and the files that have it (the report's groups).</summary>
public sealed record ProblemGroup(string Kind, IReadOnlyList<DatasetProblem> Problems);

/// <summary>
/// An upload's validation report for people: problems grouped by kind (the same message with its file-specific values
/// left out), and as CSV (kind, file, problem, left out), safe to open in a spreadsheet.
/// </summary>
public static partial class UploadReport
{
    /// <summary>Groups by kind, the largest group first (then by their first file), files sorted within each.</summary>
    public static IReadOnlyList<ProblemGroup> Group(IReadOnlyList<DatasetProblem> problems) =>
        [.. problems.GroupBy(p => Kind(p.Problem, p.File), StringComparer.Ordinal)
            .Select(g => new ProblemGroup(g.Key, [.. g.OrderBy(p => p.File, StringComparer.Ordinal)]))
            .OrderByDescending(g => g.Problems.Count).ThenBy(g => g.Problems[0].File, StringComparer.Ordinal)];

    /// <summary>The kind of a problem: its first clause (up to ':' ';' or a sentence end), with quoted names, paths and
    /// numbers replaced by '…', so "the mask is 20×30 but the image is 40×30" and "… 64×64 but … 32×32" are one kind.</summary>
    public static string Kind(string problem, string file = "")
    {
        var text = problem;
        // The file's own name and stem wherever the message repeats them ("no mask named a.* in masks/").
        var stem = Path.GetFileNameWithoutExtension(file);
        if (file.Length > 0) text = text.Replace(file, "…", StringComparison.Ordinal);
        if (stem.Length >= 3) text = Regex.Replace(text, $@"(?<![\w-]){Regex.Escape(stem)}(?!\w)", "…");
        text = Specific().Replace(text, "…");
        var end = ClauseEnd().Match(text);
        var clause = (end.Success ? text[..end.Index] : text).Trim();
        clause = Repeats().Replace(clause, "…");
        return clause.Length == 0 ? problem : char.ToUpperInvariant(clause[0]) + clause[1..];
    }

    /// <summary>The report as CSV (RFC 4180, UTF-8): one row per problem, and whether the file was left out of what was stored.</summary>
    public static string ToCsv(IReadOnlyList<DatasetProblem> problems, IReadOnlyCollection<string>? leftOut = null)
    {
        var csv = new StringBuilder("kind,file,problem,left_out\r\n");
        var omitted = leftOut is null ? null : new HashSet<string>(leftOut, StringComparer.Ordinal);
        foreach (var group in Group(problems))
        {
            foreach (var p in group.Problems)
            {
                csv.Append(Cell(group.Kind)).Append(',').Append(Cell(p.File)).Append(',').Append(Cell(p.Problem)).Append(',')
                    .Append(omitted is null ? "" : omitted.Contains(p.File) ? "yes" : "no").Append("\r\n");
            }
        }
        return csv.ToString();
    }

    /// <summary>Quoted when needed; a leading = + - @ (a formula to a spreadsheet) is defused with an apostrophe.</summary>
    internal static string Cell(string value)
    {
        if (value.Length > 0 && "=+-@\t\r".Contains(value[0])) value = "'" + value;
        return value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
    }

    [GeneratedRegex(@"'[^']*'|""[^""]*""|“[^”]*”|\S*[/\\]\S*|\S+\.(png|jpe?g|tiff?|bmp|nii(\.gz)?|dcm)\b|\d+([.,×x]\d+)*( ?%| ?MiB| ?GiB| ?KiB| ?bytes?)?", RegexOptions.IgnoreCase)]
    private static partial Regex Specific();

    [GeneratedRegex(@"[:;]| \(|\.(\s|$)")]
    private static partial Regex ClauseEnd();

    [GeneratedRegex(@"…\S*(?:[\s,]+…\S*)*")]
    private static partial Regex Repeats();
}
