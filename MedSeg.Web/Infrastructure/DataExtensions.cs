using MedSeg.Data;
using MedSeg.Data.Files;

namespace MedSeg.Web.Infrastructure;

public static class DataExtensions
{
    public static WebApplicationBuilder AddMedSegData(this WebApplicationBuilder builder)
    {
        var dataRoot = builder.Configuration.Get<MedSegOptions>(MedSegOptions.Section).ResolvedDataRoot;
        var database = builder.Configuration.Get<DatabaseOptions>(DatabaseOptions.Section);
        Directory.CreateDirectory(dataRoot);
        builder.Services.AddSingleton(new ArtifactStore(dataRoot));
        // The factory serves Blazor components (one context per operation: a circuit lives long and calls overlap);
        // it also registers the scoped context that Identity, the hub and jobs use.
        builder.Services.AddDbContextFactory<MedSegDbContext>(o => MedSegDatabase.Configure(o, database, dataRoot));
        return builder;
    }
}
