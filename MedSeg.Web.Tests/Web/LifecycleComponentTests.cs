using Bunit;
using MedSeg.Web.Features.Datasets.Pages;
using MedSeg.Web.Features.Deletion;
using MedSeg.Web.Features.Deletion.Pages;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Features.Experiments.Pages;
using MedSeg.Web.Features.Quotas;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace MedSeg.Web.Tests.Web;

/// <summary>The delete confirmation dialog and the quota lines of the upload panel and the launch form (bUnit).</summary>
public class LifecycleComponentTests
{
    private static readonly QuotaStatus Quota = new(new StorageUsage(3L << 30, 10L << 30), new JobUsage(1, 4));

    [Fact]
    public async Task DeleteDialogOfADatasetInUseNeedsTheAlsoDeleteBoxAndShowsTheBytesFreedOutcome()
    {
        await using var ctx = BunitSetup.NewContext();
        var provider = ctx.Render<MudDialogProvider>();
        bool? withExperiments = null;
        var response = new DeleteResponse(1234, new DeletedItems([Guid.NewGuid()], [Guid.NewGuid()], []));
        var parameters = new DialogParameters<DeleteDialog>
        {
            { d => d.Summary, "Dataset “discs”: 6 cases, 120 KB on disk." },
            { d => d.Experiments, (IReadOnlyList<ItemRef>)[new ItemRef(Guid.NewGuid(), "unext on discs")] },
            { d => d.Delete, with =>
                {
                    withExperiments = with;
                    return Task.FromResult<DeleteOutcome>(new DeleteOutcome.Done(response));
                }
            },
        };
        IDialogReference? dialog = null;
        await provider.InvokeAsync(async () => dialog = await ctx.Services.GetRequiredService<IDialogService>().ShowAsync<DeleteDialog>("Delete?", parameters));

        Assert.Contains("6 cases, 120 KB", provider.Find("[data-testid=delete-summary]").TextContent);
        Assert.Contains("unext on discs", provider.Find("[data-testid=delete-experiments]").TextContent);
        Assert.True(provider.Find("button[data-testid=delete-confirm]").HasAttribute("disabled"));
        provider.Find("input[data-testid=delete-with-experiments]").Change(true);
        provider.Find("button[data-testid=delete-confirm]").Click();

        var result = await dialog!.Result;
        Assert.True(withExperiments);
        Assert.Equal(response, result!.Data);
    }

    [Fact]
    public async Task DeleteDialogShowsARefusalAndStaysOpen()
    {
        await using var ctx = BunitSetup.NewContext();
        var provider = ctx.Render<MudDialogProvider>();
        var parameters = new DialogParameters<DeleteDialog>
        {
            { d => d.Summary, "Experiment “x”." },
            { d => d.Delete, _ => Task.FromResult<DeleteOutcome>(new DeleteOutcome.Conflict("Still stopping", "try again in a few seconds", [])) },
        };
        await provider.InvokeAsync(() => ctx.Services.GetRequiredService<IDialogService>().ShowAsync<DeleteDialog>("Delete?", parameters));
        provider.Find("button[data-testid=delete-confirm]").Click();
        provider.WaitForAssertion(() => Assert.Contains("try again in a few seconds", provider.Find("[data-testid=delete-error]").TextContent));
    }

    [Fact]
    public async Task UploadPanelAndLaunchFormShowTheQuotaUsedAndLeft()
    {
        await using var ctx = BunitSetup.NewContext();
        var upload = ctx.Render<UploadPanel>(p => p.Add(x => x.Quota, Quota));
        Assert.Equal("Your storage: 3.00 GB of 10.00 GB used, 7.00 GB left.", upload.Find("[data-testid=quota-storage]").TextContent.Trim());

        var form = ctx.Render<LaunchForm>(p => p
            .Add(x => x.Request, new LaunchRequest())
            .Add(x => x.Datasets, [])
            .Add(x => x.Models, [])
            .Add(x => x.Launch, _ => throw new InvalidOperationException())
            .Add(x => x.Quota, Quota with { Jobs = new JobUsage(2, null) }));
        Assert.Equal("Your jobs: 2 queued or running (no quota).", form.Find("[data-testid=quota-jobs]").TextContent.Trim());
        Assert.Empty(ctx.Render<UploadPanel>().FindAll("[data-testid=quota-storage]"));
    }
}
