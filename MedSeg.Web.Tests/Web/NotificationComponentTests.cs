using Bunit;
using MedSeg.Data.Entities;
using MedSeg.Web.Features.Notifications;
using MedSeg.Web.Features.Notifications.Pages;

namespace MedSeg.Web.Tests.Web;

/// <summary>The bell's menu (bUnit): each event links to its run, unread ones stand out, "mark all read" calls back and is
/// off when nothing is unread.</summary>
public class NotificationComponentTests
{
    private static NotificationView Item(string kind, string title, bool read) =>
        new(Guid.NewGuid(), kind, title, "Best Dice 0.8000 at epoch 2 of 2.", $"/experiments/{Guid.NewGuid()}", Guid.NewGuid(),
            DateTimeOffset.UtcNow, read ? DateTimeOffset.UtcNow : null);

    [Fact]
    public async Task TheMenuListsEachEventLinkingToItsRunAndMarksAllRead()
    {
        await using var ctx = BunitSetup.NewContext();
        var items = new[] { Item(NotificationKinds.Completed, "run a completed", false), Item(NotificationKinds.Failed, "run b failed", true) };
        var markAll = 0;
        NotificationView? opened = null;
        var list = ctx.Render<NotificationList>(p => p
            .Add(c => c.Items, items)
            .Add(c => c.Unread, 1)
            .Add(c => c.OnMarkAllRead, () => markAll++)
            .Add(c => c.OnOpen, n => opened = n));

        var rows = list.FindAll("[data-testid=notification-item]");
        Assert.Equal(2, rows.Count);
        Assert.Equal(items[0].Link, rows[0].GetAttribute("href"));
        Assert.Equal(items[1].Link, rows[1].GetAttribute("href"));
        Assert.Contains("run a completed", rows[0].TextContent);
        Assert.Equal(("completed", "false"), (rows[0].GetAttribute("data-kind"), rows[0].GetAttribute("data-read")));
        Assert.Equal("true", rows[1].GetAttribute("data-read"));
        Assert.Contains("font-weight: 600", rows[0].InnerHtml);
        Assert.DoesNotContain("font-weight: 600", rows[1].InnerHtml);

        rows[0].Click();
        Assert.Equal(items[0].Id, opened?.Id);
        list.Find("[data-testid=notification-read-all]").Click();
        Assert.Equal(1, markAll);
    }

    [Theory]
    [InlineData(ExperimentStatus.Completed, false, "completed")]
    [InlineData(ExperimentStatus.Completed, true, "stopped")]
    [InlineData(ExperimentStatus.Failed, false, "failed")]
    [InlineData(ExperimentStatus.Cancelled, false, "cancelled")]
    [InlineData(ExperimentStatus.Interrupted, false, null)]
    [InlineData(ExperimentStatus.Running, false, null)]
    [InlineData(ExperimentStatus.Queued, false, null)]
    public void ARunEndIsNamedByItsStatusAndARunThatResumesNotifiesNobody(ExperimentStatus status, bool stoppedEarly, string? kind)
    {
        Assert.Equal(kind, NotificationKinds.Of(status, stoppedEarly));
        if (kind is not null) Assert.Equal("experiment." + kind, NotificationKinds.Event(kind));
    }

    [Fact]
    public async Task NothingUnreadDisablesMarkAllReadAndNoEventsSaysSo()
    {
        await using var ctx = BunitSetup.NewContext();
        var list = ctx.Render<NotificationList>(p => p.Add(c => c.Items, Array.Empty<NotificationView>()).Add(c => c.Unread, 0));
        Assert.True(list.Find("[data-testid=notification-read-all]").HasAttribute("disabled"));
        Assert.Contains("when a run of yours ends", list.Find("[data-testid=notification-empty]").TextContent);
    }
}
