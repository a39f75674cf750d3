using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;

namespace MedSeg.Web.Infrastructure;

public static class ConfigurationExtensions
{
    /// <summary>
    /// The one configuration file is the repository root's appsettings.json, copied beside the app by the build.
    /// It is read before environment variables and the command line, which override it (<c>MedSeg__Section__Key</c>).
    /// </summary>
    public static WebApplicationBuilder AddMedSegConfiguration(this WebApplicationBuilder builder, string[]? args = null)
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

        // --role web|worker|all on the command line, over MedSeg__Role and the file.
        if (args is { Length: > 0 }) builder.Configuration.AddCommandLine(args, new Dictionary<string, string> { ["--role"] = NodeRoles.Key });
        var role = NodeRoles.Read(builder.Configuration);
        // A web node enqueues and never runs jobs; a worker runs them whatever the file says.
        if (role != NodeRole.All)
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [JobsOptions.Section + ":" + nameof(JobsOptions.RunServer)] = role.RunsJobs() ? "true" : "false",
            });
        }
        // A worker needs no address: without one it listens on a free loopback port for its health endpoint only, so that
        // several workers share a machine.
        if (role == NodeRole.Worker && !HasListenAddress(builder.Configuration)) builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton(new NodeIdentity(role));

        // Static assets from the build output work in every environment (not only Development) without publishing.
        var manifest = Path.Combine(AppContext.BaseDirectory, $"{typeof(Program).Assembly.GetName().Name}.staticwebassets.runtime.json");
        if (File.Exists(manifest)) builder.WebHost.UseStaticWebAssets();

        builder.Services.Configure<MedSegOptions>(builder.Configuration.GetSection(MedSegOptions.Section));
        builder.Services.Configure<AdminOptions>(builder.Configuration.GetSection(AdminOptions.Section));
        builder.Services.Configure<JobsOptions>(builder.Configuration.GetSection(JobsOptions.Section));
        builder.Services.Configure<TrainingOptions>(builder.Configuration.GetSection(TrainingOptions.Section));
        builder.Services.Configure<NotificationsOptions>(builder.Configuration.GetSection(NotificationsOptions.Section));
        builder.Services.Configure<RedisOptions>(builder.Configuration.GetSection(RedisOptions.Section));
        builder.Services.AddSingleton<RedisConnection>();
        return builder;
    }

    private static bool HasListenAddress(IConfiguration configuration) =>
        new[] { "urls", "http_ports", "https_ports" }.Any(k => !string.IsNullOrWhiteSpace(configuration[k]))
        || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();

    public static T Get<T>(this IConfiguration configuration, string section) where T : new() =>
        configuration.GetSection(section).Get<T>() ?? new T();
}
