using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace MedSeg.Web.Infrastructure;

public static class ConfigurationExtensions
{
    /// <summary>
    /// The one configuration file is the repository root's appsettings.json, copied beside the app by the build.
    /// It is read before environment variables and the command line, which override it (<c>MedSeg__Section__Key</c>).
    /// </summary>
    public static WebApplicationBuilder AddMedSegConfiguration(this WebApplicationBuilder builder)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        var sources = builder.Configuration.Sources;
        var alreadyLoaded = sources.OfType<JsonConfigurationSource>().Any(s =>
            s.Path is not null && s.FileProvider?.GetFileInfo(s.Path).PhysicalPath is { } p &&
            Path.GetFullPath(p) == Path.GetFullPath(file));
        if (!alreadyLoaded && File.Exists(file))
        {
            var index = sources.ToList().FindIndex(s => s is EnvironmentVariablesConfigurationSource);
            var json = new JsonConfigurationSource { Path = file, Optional = true, ReloadOnChange = false };
            json.ResolveFileProvider();
            if (index < 0) sources.Add(json); else sources.Insert(index, json);
        }

        // Static assets from the build output work in every environment (not only Development) without publishing.
        var manifest = Path.Combine(AppContext.BaseDirectory, $"{typeof(Program).Assembly.GetName().Name}.staticwebassets.runtime.json");
        if (File.Exists(manifest)) builder.WebHost.UseStaticWebAssets();

        builder.Services.Configure<MedSegOptions>(builder.Configuration.GetSection(MedSegOptions.Section));
        builder.Services.Configure<AdminOptions>(builder.Configuration.GetSection(AdminOptions.Section));
        builder.Services.Configure<JobsOptions>(builder.Configuration.GetSection(JobsOptions.Section));
        builder.Services.Configure<TrainingOptions>(builder.Configuration.GetSection(TrainingOptions.Section));
        builder.Services.Configure<NotificationsOptions>(builder.Configuration.GetSection(NotificationsOptions.Section));
        return builder;
    }

    public static T Get<T>(this IConfiguration configuration, string section) where T : new() =>
        configuration.GetSection(section).Get<T>() ?? new T();
}
