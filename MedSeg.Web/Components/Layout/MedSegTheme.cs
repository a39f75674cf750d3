using MudBlazor;

namespace MedSeg.Web.Components.Layout;

public static class MedSegTheme
{
    public static readonly MudTheme Theme = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#1565c0",
            Secondary = "#00897b",
            AppbarBackground = "#0d47a1",
        },
    };
}
