using Bunit;
using MudBlazor.Services;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>A bUnit context with MudBlazor's services and loose JS interop (MudBlazor calls JS we do not care about).</summary>
internal static class BunitSetup
{
    public static BunitContext NewContext()
    {
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.Services.AddSingleton<MedSeg.Web.Features.Datasets.UploadTracker>();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        return ctx;
    }
}
