namespace MedSeg.Web.Features.Experiments.Compare.Pages;

/// <summary>One colour per compared run (at most <see cref="CompareQuery.MaxRuns"/>), in run order, on every chart and table.</summary>
public static class CompareColors
{
    private static readonly string[] Palette =
        ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#ad1457", "#9e9d24", "#455a64"];

    public static string Of(int index) => Palette[index % Palette.Length];
}
