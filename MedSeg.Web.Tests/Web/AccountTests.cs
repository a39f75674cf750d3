using System.Net;
using System.Text.RegularExpressions;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Mvc.Testing;

namespace MedSeg.Web.Tests.Web;

[Collection(AppCollection.Name)]
public sealed class AccountTests
{
    [Fact]
    public async Task FirstVisitWithoutUsersCreatesTheAdminAndSignsIn()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Admin:Email"] = "", ["MedSeg:Admin:Password"] = "" });
        var client = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

        var start = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var login = await client.GetAsync(start.Headers.Location);
        Assert.EndsWith("/setup", login.Headers.Location?.OriginalString);

        var setup = await client.GetStringAsync("/setup");
        Assert.Contains("Create the first admin", setup);
        var token = Regex.Match(setup, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "setup",
            ["__RequestVerificationToken"] = token,
            ["Input.Email"] = "first@medseg.test",
            ["Input.Password"] = "First-Pass-1",
            ["Input.Confirm"] = "First-Pass-1",
        });
        var created = await client.PostAsync("/setup", form);
        Assert.True(created.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found or HttpStatusCode.OK, created.StatusCode.ToString());

        // Signed in now, and the setup page is gone for good.
        var home = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var again = await client.GetAsync("/setup");
        Assert.EndsWith("/account/login", again.Headers.Location?.OriginalString);
        var token2 = await factory.CreateAuthenticatedClientAsync("first@medseg.test", "First-Pass-1");
        Assert.NotNull(token2.DefaultRequestHeaders.Authorization);
    }

    [Fact]
    public async Task JobsDashboardNeedsAnAdmin()
    {
        using var factory = new MedSegAppFactory();
        var anonymous = factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var response = await anonymous.GetAsync("/jobs");
        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }
}
