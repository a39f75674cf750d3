using System.Text.Json;
using Bunit;
using MedSeg.Web.Features.Datasets;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;

namespace MedSeg.Web.Tests.Web;

/// <summary>The review viewer's markup and what it asks its JavaScript module to draw (the drawing itself is checked in
/// Chromium by <see cref="E2E.ReviewViewerTests"/>).</summary>
public class ComparisonPanesTests
{
    private const string Module = "/js/review-viewer.js";
    private static readonly Guid ExperimentId = Guid.Parse("11111111-2222-3333-4444-555555555555");

    private static CaseResultView Case(string name) =>
        new(Guid.NewGuid(), name, 0.5, 0.4, 0.9, 0.8, $"/img/{name}", $"/truth/{name}", $"/pred/{name}", $"/cmp/{name}");

    private static (BunitContext Ctx, BunitJSModuleInterop Module) NewContext()
    {
        var ctx = BunitSetup.NewContext();
        var module = ctx.JSInterop.SetupModule(Module);
        module.Mode = JSRuntimeMode.Loose;
        return (ctx, module);
    }

    private static JsonElement Options(JSRuntimeInvocation call) => JsonSerializer.SerializeToElement(call.Arguments[1]);

    [Fact]
    public async Task BinaryCaseGetsFourCanvasesAndTheViewerDrawsItsImageAndLabels()
    {
        var (ctx, module) = NewContext();
        await using var _ = ctx;
        var c = Case("a");
        var cut = ctx.Render<ComparisonPanes>(p => p.Add(x => x.Case, c).Add(x => x.ExperimentId, ExperimentId).Add(x => x.Classes, ClassMap.Default(1)));

        Assert.Equal(["image", "truth", "prediction", "overlay"], cut.FindAll("canvas").Select(e => e.GetAttribute("data-pane")));
        Assert.Equal(["pane-image", "pane-truth", "pane-prediction", "pane-overlay"], cut.FindAll("canvas").Select(e => e.GetAttribute("data-testid")));
        Assert.Equal(["Image", "Ground truth", "Prediction"], cut.FindAll("figcaption").Take(3).Select(e => e.TextContent.Trim()));
        Assert.Empty(cut.FindAll("[data-testid=review-class]")); // binary: no class toggle
        var legend = cut.Find("[data-testid=review-legend]");
        Assert.Single(legend.QuerySelectorAll(".swatch.fp"));
        Assert.Single(legend.QuerySelectorAll(".swatch.fn"));
        Assert.Empty(legend.QuerySelectorAll(".swatch.confusion"));

        Assert.Single(module.Invocations, i => i.Identifier == "attach");
        var options = Options(Assert.Single(module.Invocations, i => i.Identifier == "show"));
        Assert.Equal("/img/a", options.GetProperty("imageUrl").GetString());
        Assert.Equal(ReviewLabels.Url(ExperimentId, c.CaseId, LabelSource.Truth, ComparisonPanes.RenditionSize), options.GetProperty("truthUrl").GetString());
        Assert.Equal($"/api/experiments/{ExperimentId}/files/labels/{c.CaseId:N}/prediction.png?size=512", options.GetProperty("predictionUrl").GetString());
        Assert.Equal("fill", options.GetProperty("mode").GetString());
        Assert.Equal(0.5, options.GetProperty("opacity").GetDouble());
        Assert.Equal(JsonValueKind.Null, options.GetProperty("cls").ValueKind);
        Assert.Equal(0, options.GetProperty("colours").GetArrayLength()); // binary: amber, as the other renditions
    }

    [Fact]
    public async Task LabelMapGetsAClassToggleItsColoursAndTheConfusionLegend()
    {
        var (ctx, module) = NewContext();
        await using var _ = ctx;
        IReadOnlyList<ClassEntry> classes = [new(0, "background", "#000000"), new(1, "liver", "#ff0000"), new(2, "tumour", "#00ff00")];
        var cut = ctx.Render<ComparisonPanes>(p => p.Add(x => x.Case, Case("a")).Add(x => x.ExperimentId, ExperimentId).Add(x => x.Classes, classes));

        Assert.NotNull(cut.Find("[data-testid=review-class]"));
        Assert.Single(cut.FindAll("[data-testid=review-legend] .swatch.confusion"));
        Assert.Equal(["liver", "tumour"], cut.FindAll("[data-testid=review-legend] [data-testid=class-swatch]").Select(e => e.TextContent.Trim()));
        var options = Options(Assert.Single(module.Invocations, i => i.Identifier == "show"));
        Assert.Equal(["#000000", "#ff0000", "#00ff00"], options.GetProperty("colours").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task NextAndPreviousStepWithinTheOrderByButtonAndKey()
    {
        var (ctx, _) = NewContext();
        await using var __ = ctx;
        var steps = new List<int>();
        var cut = ctx.Render<ComparisonPanes>(p => p.Add(x => x.Case, Case("a")).Add(x => x.ExperimentId, ExperimentId)
            .Add(x => x.Index, 0).Add(x => x.Total, 2).Add(x => x.Step, s => steps.Add(s)));

        Assert.Equal("1 of 2", cut.Find("[data-testid=review-position]").TextContent.Trim());
        Assert.True(cut.Find("[data-testid=review-previous]").HasAttribute("disabled"));
        cut.Find("[data-testid=review-next]").Click();
        await cut.InvokeAsync(() => cut.Instance.OnViewerKey("previous")); // the first case has no previous
        await cut.InvokeAsync(() => cut.Instance.OnViewerKey("next"));
        Assert.Equal([1, 1], steps);

        cut.Render(p => p.Add(x => x.Index, 1));
        Assert.Equal("2 of 2", cut.Find("[data-testid=review-position]").TextContent.Trim());
        Assert.True(cut.Find("[data-testid=review-next]").HasAttribute("disabled"));
        await cut.InvokeAsync(() => cut.Instance.OnViewerKey("next"));
        await cut.InvokeAsync(() => cut.Instance.OnViewerKey("previous"));
        Assert.Equal([1, 1, -1], steps);
    }

    [Fact]
    public async Task ContourKeyAndOpacityReachTheViewerAndANewCaseIsShown()
    {
        var (ctx, module) = NewContext();
        await using var _ = ctx;
        var cut = ctx.Render<ComparisonPanes>(p => p.Add(x => x.Case, Case("a")).Add(x => x.ExperimentId, ExperimentId));

        await cut.InvokeAsync(() => cut.Instance.OnViewerKey("contour"));
        var set = Options(module.Invocations.Last(i => i.Identifier == "set"));
        Assert.Equal("contour", set.GetProperty("mode").GetString());
        Assert.Equal("contour", cut.Find("[data-testid=review-viewer]").GetAttribute("data-mode"));

        cut.Render(p => p.Add(x => x.Case, Case("b")));
        var shows = module.Invocations.Where(i => i.Identifier == "show").Select(Options).ToList();
        Assert.Equal(2, shows.Count);
        Assert.Equal("/img/b", shows[1].GetProperty("imageUrl").GetString());
        Assert.Equal("contour", shows[1].GetProperty("mode").GetString()); // the overlay settings stay from case to case
        cut.Render(p => p.Add(x => x.Index, 0)); // the same case again: not reloaded
        Assert.Equal(2, module.Invocations.Count(i => i.Identifier == "show"));
    }
    [Fact]
    public async Task ACaseThatCannotBeDrawnSaysSoNamingTheCase()
    {
        var (ctx, module) = NewContext();
        await using var _ = ctx;
        module.SetupVoid("show", _ => true).SetException(new Microsoft.JSInterop.JSException("Could not load /api/experiments/x/files/labels/y/prediction.png"));
        var cut = ctx.Render<ComparisonPanes>(p => p.Add(x => x.Case, Case("lost")).Add(x => x.ExperimentId, ExperimentId));

        var problem = cut.WaitForElement("[data-testid=review-problem]");
        Assert.Contains("Could not draw lost", problem.TextContent);
        Assert.Contains("prediction.png", problem.TextContent);
    }
}
