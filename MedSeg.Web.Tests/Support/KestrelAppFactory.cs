using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Support;

/// <summary>The real app on Kestrel at 127.0.0.1 on a free port, for a real browser.</summary>
public static class KestrelApp
{
    public static (MedSegAppFactory Factory, Uri BaseUri) Start(Dictionary<string, string?>? settings = null)
    {
        var factory = new MedSegAppFactory(settings);
        factory.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (factory, new Uri(address));
    }
}
