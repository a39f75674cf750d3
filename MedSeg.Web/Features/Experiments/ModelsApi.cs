using MedSeg.Engine.Models;

namespace MedSeg.Web.Features.Experiments;

/// <summary>One architecture of <c>GET /api/models</c>: the registry's metadata. <paramref name="Parameters"/> is the default
/// variant's parameter count at 3 input channels and 1 class; each variant carries its own.</summary>
public sealed record ModelDescription(string Name, string Description, int SizeMultiple, string DefaultVariant, long Parameters,
    IReadOnlyList<ModelVariantDescription> Variants, IReadOnlyList<ModelOptionInfo> Options);

public sealed record ModelVariantDescription(string Name, long Parameters, string Description);

/// <summary><c>GET /api/models</c>: the model zoo as the launch form sees it (names, variants, size multiples, parameters and
/// the options each takes), from <see cref="ModelRegistry"/>'s metadata; nothing is built.</summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/models", () => TypedResults.Ok(Describe())).WithTags("Models").WithName("ListModels")
            .WithSummary("The model zoo: each architecture's variants, size multiple, parameter count and options");
        return app;
    }

    public static IReadOnlyList<ModelDescription> Describe() =>
    [
        .. ModelRegistry.All.Select(m => new ModelDescription(m.Name, m.Description, m.SizeMultiple, m.DefaultVariant,
            m.Variants[0].Parameters,
            [.. m.Variants.Select(v => new ModelVariantDescription(v.Name, v.Parameters, v.Description))], m.Options)),
    ];
}
