using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>Each audited action leaves exactly its row, with who and what, and never a password or a token secret.</summary>
[Collection(AppCollection.Name)]
public sealed class AuditTests
{
    [Fact]
    public async Task EachActionLeavesExactlyItsRowAndNoSecret()
    {
        using var factory = new MedSegAppFactory();
        var anonymous = factory.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized,
            (await anonymous.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = "Wrong-Pass-1" })).StatusCode);
        var admin = await factory.CreateAuthenticatedClientAsync(); // signin.success + token.create
        var created = await admin.PostAsJsonAsync("/api/users", new { email = "audited@lab.test", role = "Member", password = Accounts.Password });
        var memberId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await admin.PatchAsJsonAsync($"/api/users/{memberId}", new { role = "Viewer" })).StatusCode);
        var reset = await admin.PostAsJsonAsync($"/api/users/{memberId}/password", new { });
        var newPassword = (await reset.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("password").GetString()!;

        var upload = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload("audited discs", SyntheticDataset.Zip(4, 32)));
        var datasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        var share = await admin.PostAsJsonAsync($"/api/datasets/{datasetId}/shares", new { userId = memberId });
        var shareId = (await share.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/datasets/{datasetId}/shares/{shareId}")).StatusCode);
        var launch = await admin.PostAsJsonAsync("/api/experiments",
            new { datasetId, model = "unext", epochs = 50, batchSize = 2, imageSize = 32, learningRate = 0.001 });
        var experimentId = (await launch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/experiments/{experimentId}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/experiments/{experimentId}")).StatusCode);
        var spare = await admin.PostAsync("/api/datasets", DatasetsApiTests.Upload("spare", SyntheticDataset.Zip(2, 32)));
        var spareId = (await spare.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/api/datasets/{spareId}")).StatusCode);
        var token = await admin.PostAsJsonAsync("/api/tokens", new { name = "to revoke" });
        var tokenBody = await token.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/tokens/{tokenBody.GetProperty("id").GetGuid()}")).StatusCode);

        using var scope = factory.Services.CreateScope();
        var rows = await scope.ServiceProvider.GetRequiredService<MedSegDbContext>().AuditLog.AsNoTracking().OrderBy(a => a.Id).ToListAsync();
        int Count(string action) => rows.Count(r => r.Action == action);
        Assert.Equal(1, Count("signin.failure"));
        Assert.False(rows.Single(r => r.Action == "signin.failure").Succeeded);
        Assert.Equal(1, Count("signin.success"));
        Assert.Equal(2, Count("token.create")); // the sign-in's token and "to revoke"
        Assert.Equal(1, Count("token.revoke"));
        Assert.Equal(1, Count("user.create"));
        Assert.Equal(1, Count("user.update"));
        Assert.Contains("Member → Viewer", rows.Single(r => r.Action == "user.update").Detail);
        Assert.Equal(1, Count("user.password"));
        Assert.Equal(2, Count("dataset.upload"));
        Assert.Equal(1, rows.Count(r => r.Action == "dataset.upload" && r.TargetId == datasetId.ToString()));
        Assert.Equal(spareId.ToString(), rows.Single(r => r.Action == "dataset.delete").TargetId);
        Assert.Equal(experimentId.ToString(), rows.Single(r => r.Action == "experiment.delete").TargetId);
        Assert.Equal(1, Count("share.create"));
        Assert.Equal(1, Count("share.delete"));
        Assert.Equal(1, Count("experiment.launch"));
        Assert.Equal(1, Count("experiment.cancel"));
        Assert.All(rows.Where(r => r.Action != "signin.failure"), r => Assert.Equal(MedSegAppFactory.AdminEmail, r.ActorName));

        var text = string.Join("\n", rows.Select(r => $"{r.ActorName} {r.Action} {r.TargetId} {r.Detail}"));
        Assert.DoesNotContain(MedSegAppFactory.AdminPassword, text);
        Assert.DoesNotContain("Wrong-Pass-1", text);
        Assert.DoesNotContain(newPassword, text);
        Assert.DoesNotContain(Accounts.Password, text);
        Assert.DoesNotContain(tokenBody.GetProperty("token").GetString()!, text);

        // Append-only: the context refuses to change or remove a row.
        var db = scope.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var first = await db.AuditLog.FirstAsync();
        first.Detail = "rewritten";
        Assert.Throws<InvalidOperationException>(() => db.SaveChanges());

        // Admins read it through the API with filters; others cannot.
        var filtered = await admin.GetFromJsonAsync<JsonElement>("/api/audit?action=share.");
        Assert.Equal(2, filtered.GetArrayLength());
        var viewer = await Accounts.TryTokenClientAsync(factory, "audited@lab.test", newPassword);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer!.GetAsync("/api/audit")).StatusCode);
    }
}
