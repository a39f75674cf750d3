using Microsoft.Playwright;

namespace MedSeg.Web.Tests.Support;

/// <summary>Collects what Chromium reports when the Content-Security-Policy blocks something (a console error
/// "Refused to … because it violates the following Content Security Policy directive …") on a page, for E2E tests to assert
/// there is none.</summary>
public sealed class CspViolations
{
    private readonly List<string> messages = [];

    private CspViolations(IPage page)
    {
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) lock (messages) messages.Add($"{page.Url}: {message.Text}");
        };
    }

    public static CspViolations Watch(IPage page) => new(page);

    public IReadOnlyList<string> Messages { get { lock (messages) return [.. messages]; } }

    public void AssertNone() => Assert.True(Messages.Count == 0, "The Content-Security-Policy blocked:\n" + string.Join("\n", Messages));
}
