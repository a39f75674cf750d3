using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>User management, personal tokens and shares through the REST API, on the real app.</summary>
[Collection(AppCollection.Name)]
public sealed class UsersApiTests : IClassFixture<UsersApiTests.App>
{
    public sealed class App : IDisposable
    {
        public MedSegAppFactory Factory { get; } = new();
        public void Dispose() => Factory.Dispose();
    }

    private readonly MedSegAppFactory factory;

    public UsersApiTests(App app) => factory = app.Factory;

    [Fact]
    public async Task AdminCreatesAUserWithAOneTimePasswordThatSignsIn()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var response = await admin.PostAsJsonAsync("/api/users", new { email = "ana@lab.test", displayName = "Ana Lima", role = "Member" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var password = body.GetProperty("initialPassword").GetString()!;
        Assert.Equal("Member", body.GetProperty("user").GetProperty("role").GetString());
        Assert.Equal("Ana Lima", body.GetProperty("user").GetProperty("name").GetString());
        Assert.NotNull(await Accounts.TryTokenClientAsync(factory, "ana@lab.test", password));

        // The list holds her, the password nowhere.
        var list = await admin.GetStringAsync("/api/users");
        Assert.Contains("ana@lab.test", list);
        Assert.DoesNotContain(password, list);
        var again = await admin.PostAsJsonAsync("/api/users", new { email = "ana@lab.test" });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("exists already", await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MembersCannotManageUsersButChangeTheirOwnNameAndPassword()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Member");
        var other = await Accounts.CreateAsync(factory, admin, "Member");

        Assert.Equal(HttpStatusCode.Forbidden, (await member.Client.PostAsJsonAsync("/api/users", new { email = "x@lab.test" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await member.Client.PatchAsJsonAsync($"/api/users/{member.Id}", new { role = "Admin" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await member.Client.PatchAsJsonAsync($"/api/users/{other.Id}", new { displayName = "x" })).StatusCode);

        var renamed = await member.Client.PatchAsJsonAsync($"/api/users/{member.Id}", new { displayName = "Bruno" });
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        Assert.Equal("Bruno", (await member.Client.GetFromJsonAsync<JsonElement>("/api/users/me")).GetProperty("name").GetString());

        var wrong = await member.Client.PostAsJsonAsync($"/api/users/{member.Id}/password", new { password = "New-Pass-12", currentPassword = "nope" });
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Contains("currentPassword", await wrong.Content.ReadAsStringAsync());
        var changed = await member.Client.PostAsJsonAsync($"/api/users/{member.Id}/password", new { password = "New-Pass-12", currentPassword = member.Password });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotNull(await Accounts.TryTokenClientAsync(factory, member.Email, "New-Pass-12"));
        Assert.Null(await Accounts.TryTokenClientAsync(factory, member.Email, member.Password));
    }

    [Fact]
    public async Task DisablingAUserStopsTheirTokensAtOnceAndEnablingRestoresSignIn()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Member");
        Assert.Equal(HttpStatusCode.OK, (await member.Client.GetAsync("/api/datasets")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/users/{member.Id}", new { disabled = true })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await member.Client.GetAsync("/api/datasets")).StatusCode);
        Assert.Null(await Accounts.TryTokenClientAsync(factory, member.Email, member.Password));

        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/users/{member.Id}", new { disabled = false })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await member.Client.GetAsync("/api/datasets")).StatusCode);
    }

    [Fact]
    public async Task APasswordResetOrRoleChangeEndsTheUsersBrowserSessionsAtOnce()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Member");
        var browser = await CookieSignIn.ClientAsync(factory, member.Email, member.Password);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/users/{member.Id}", new { role = "Viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/datasets")).StatusCode);

        var again = await CookieSignIn.ClientAsync(factory, member.Email, member.Password);
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/users/{member.Id}/password", new { })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await again.GetAsync("/api/datasets")).StatusCode);
    }

    [Fact]
    public async Task TheLastActiveAdminCanBeNeitherDemotedNorDisabled()
    {
        using var single = new MedSegAppFactory();
        var admin = await single.CreateAuthenticatedClientAsync();
        var me = (await admin.GetFromJsonAsync<JsonElement>("/api/users/me")).GetProperty("id").GetString();
        var demote = await admin.PatchAsJsonAsync($"/api/users/{me}", new { role = "Member" });
        Assert.Equal(HttpStatusCode.BadRequest, demote.StatusCode);
        Assert.Contains("last active admin", await demote.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PatchAsJsonAsync($"/api/users/{me}", new { disabled = true })).StatusCode);

        // With a second admin the first may step down.
        var second = await Accounts.CreateAsync(single, admin, "Admin");
        Assert.Equal(HttpStatusCode.OK, (await second.Client.PatchAsJsonAsync($"/api/users/{me}", new { role = "Member" })).StatusCode);
    }

    [Fact]
    public async Task AdminResetsAPasswordAndTheOldOneStopsWorking()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Viewer");
        var reset = await admin.PostAsJsonAsync($"/api/users/{member.Id}/password", new { });
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        var password = (await reset.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("password").GetString()!;
        Assert.Null(await Accounts.TryTokenClientAsync(factory, member.Email, member.Password));
        Assert.NotNull(await Accounts.TryTokenClientAsync(factory, member.Email, password));
    }

    [Fact]
    public async Task TokensAreNamedExpireListLastUseAndRevoke()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Member");
        var created = await member.Client.PostAsJsonAsync("/api/tokens", new { name = "nightly script", expiresInDays = 7 });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("token").GetString()!;
        var id = body.GetProperty("id").GetGuid();
        var expires = body.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange((expires - DateTimeOffset.UtcNow).TotalDays, 6.9, 7.1);

        var script = factory.CreateClient();
        script.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await script.GetAsync("/api/experiments")).StatusCode);
        var listed = (await member.Client.GetFromJsonAsync<JsonElement>("/api/tokens")).EnumerateArray().Single(t => t.GetProperty("id").GetGuid() == id);
        Assert.Equal("nightly script", listed.GetProperty("name").GetString());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("lastUsedAt").ValueKind);
        Assert.DoesNotContain(secret, await member.Client.GetStringAsync("/api/tokens"));

        Assert.Equal(HttpStatusCode.BadRequest, (await member.Client.PostAsJsonAsync("/api/tokens", new { expiresInDays = 0 })).StatusCode);
        // Another user cannot revoke it; its owner can, and it stops at once.
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await member.Client.DeleteAsync($"/api/tokens/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await script.GetAsync("/api/experiments")).StatusCode);
    }

    [Fact]
    public async Task AnExpiredTokenIsRefused()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var member = await Accounts.CreateAsync(factory, admin, "Member");
        var secret = (await (await member.Client.PostAsJsonAsync("/api/tokens", new { name = "short" })).Content.ReadFromJsonAsync<JsonElement>())
            .GetProperty("token").GetString()!;
        using (var scope = factory.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
            await db.ApiTokens.Where(t => t.Name == "short" && t.UserId == member.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAt, DateTimeOffset.UtcNow.AddMinutes(-1)));
        }
        var script = factory.CreateClient();
        script.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await script.GetAsync("/api/experiments")).StatusCode);
        var listed = (await member.Client.GetFromJsonAsync<JsonElement>("/api/tokens")).EnumerateArray().Single(t => t.GetProperty("name").GetString() == "short");
        Assert.True(listed.GetProperty("expired").GetBoolean());
    }

    [Fact]
    public async Task ASharedDatasetIsReadOnlyForTheSharee()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var owner = await Accounts.CreateAsync(factory, admin, "Member", displayName: "Owner Olga");
        var sharee = await Accounts.CreateAsync(factory, admin, "Member");
        var stranger = await Accounts.CreateAsync(factory, admin, "Member");
        var upload = await owner.Client.PostAsync("/api/datasets", DatasetsApiTests.Upload("shared discs", SyntheticDataset.Zip(4, 32)));
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        Assert.Equal(HttpStatusCode.NotFound, (await sharee.Client.GetAsync($"/api/datasets/{datasetId}")).StatusCode);
        var share = await owner.Client.PostAsJsonAsync($"/api/datasets/{datasetId}/shares", new { userId = sharee.Id });
        Assert.Equal(HttpStatusCode.Created, share.StatusCode);
        var shareId = (await share.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();

        var seen = await sharee.Client.GetFromJsonAsync<JsonElement>($"/api/datasets/{datasetId}");
        Assert.False(seen.GetProperty("mine").GetBoolean());
        Assert.False(seen.GetProperty("canManage").GetBoolean());
        Assert.Equal("Owner Olga", seen.GetProperty("owner").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.Client.GetAsync($"/api/datasets/{datasetId}")).StatusCode);
        // Read-only: the sharee cannot share it on.
        Assert.Equal(HttpStatusCode.Forbidden, (await sharee.Client.PostAsJsonAsync($"/api/datasets/{datasetId}/shares", new { everyone = true })).StatusCode);

        // With everyone, then withdrawn.
        Assert.Equal(HttpStatusCode.Created, (await owner.Client.PostAsJsonAsync($"/api/datasets/{datasetId}/shares", new { everyone = true })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await stranger.Client.GetAsync($"/api/datasets/{datasetId}")).StatusCode);
        var shares = await owner.Client.GetFromJsonAsync<JsonElement>($"/api/datasets/{datasetId}/shares");
        Assert.Equal(2, shares.GetArrayLength());
        foreach (var s in shares.EnumerateArray())
        {
            Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/api/datasets/{datasetId}/shares/{s.GetProperty("id").GetGuid()}")).StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await sharee.Client.GetAsync($"/api/datasets/{datasetId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.Client.DeleteAsync($"/api/datasets/{datasetId}/shares/{shareId}")).StatusCode);
    }

    [Fact]
    public async Task AViewerReadsWhatIsSharedButCannotUploadOrLaunch()
    {
        var admin = await factory.CreateAuthenticatedClientAsync();
        var viewer = await Accounts.CreateAsync(factory, admin, "Viewer");
        var upload = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload("for viewers", SyntheticDataset.Zip(4, 32)));
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync($"/api/datasets/{datasetId}/shares", new { userId = viewer.Id })).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await viewer.Client.GetAsync($"/api/datasets/{datasetId}/cases")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.Client.PostAsync("/api/datasets", DatasetsApiTests.Upload("mine", SyntheticDataset.Zip(2, 32)))).StatusCode);
        var launch = await viewer.Client.PostAsJsonAsync("/api/experiments", new { datasetId, model = "unext", epochs = 1, batchSize = 2, imageSize = 32, learningRate = 0.001 });
        Assert.Equal(HttpStatusCode.Forbidden, launch.StatusCode);
    }
}
