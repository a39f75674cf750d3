using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using MedSeg.Data;
using MedSeg.Data.Entities;
using MedSeg.Web.Features;
using MedSeg.Web.Features.Account;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>No timing hint at the token endpoint for unknown emails; the first admin is created once, whatever races.</summary>
[Collection(AppCollection.Name)]
public sealed class AccountHardeningTests
{
    /// <summary>The app's hasher, recording which hashes it was asked to verify.</summary>
    private sealed class CountingHasher : IPasswordHasher<ApplicationUser>
    {
        private readonly PasswordHasher<ApplicationUser> inner = new();
        public ConcurrentQueue<string> Verified { get; } = new();

        public string HashPassword(ApplicationUser user, string password) => inner.HashPassword(user, password);

        public PasswordVerificationResult VerifyHashedPassword(ApplicationUser user, string hashedPassword, string providedPassword)
        {
            Verified.Enqueue(hashedPassword);
            return inner.VerifyHashedPassword(user, hashedPassword, providedPassword);
        }
    }

    [Fact]
    public async Task UnknownEmailStillVerifiesThePasswordAgainstADummyHash()
    {
        var hasher = new CountingHasher();
        using var app = new MedSegAppFactory(new() { ["MedSeg:Jobs:RunServer"] = "false" });
        using var factory = app.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddScoped<IPasswordHasher<ApplicationUser>>(_ => hasher)));
        var client = factory.CreateClient();
        string adminHash;
        await using (var scope = factory.Services.CreateAsyncScope())
        {
            adminHash = (await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByEmailAsync(MedSegAppFactory.AdminEmail))!.PasswordHash!;
        }

        var known = await client.PostAsJsonAsync("/api/tokens", new { email = MedSegAppFactory.AdminEmail, password = "wrong-password" });
        Assert.Equal([adminHash], hasher.Verified.ToArray());
        hasher.Verified.Clear();
        var unknown = await client.PostAsJsonAsync("/api/tokens", new { email = "nobody@medseg.test", password = "wrong-password" });
        // One verification as well, by the same hasher, of a hash in the same format (PBKDF2, same iterations) that is no user's.
        var dummy = Assert.Single(hasher.Verified);
        Assert.NotEqual(adminHash, dummy);
        Assert.Equal(Convert.FromBase64String(adminHash).Length, Convert.FromBase64String(dummy).Length);
        Assert.Equal(Convert.FromBase64String(adminHash)[..13], Convert.FromBase64String(dummy)[..13]); // format, PRF, iteration count, salt size

        // And the two answers are the same.
        Assert.Equal(HttpStatusCode.Unauthorized, known.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(await known.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>() is var k ? k.GetProperty("detail").GetString() : null,
            (await unknown.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("detail").GetString());

        // The right password still works (the dummy check never lets anyone in).
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/tokens",
            new { email = MedSegAppFactory.AdminEmail, password = MedSegAppFactory.AdminPassword })).StatusCode);
    }

    [Fact]
    public void DummyVerificationNeverSucceeds()
    {
        var hasher = new CountingHasher();
        var timing = new SignInTiming(hasher);
        timing.VerifyForUnknownUser("");
        timing.VerifyForUnknownUser("Admin-Pass-1");
        Assert.Equal(2, hasher.Verified.Count);
        Assert.Single(hasher.Verified.Distinct()); // one fixed dummy hash
    }

    [Fact]
    public async Task ConcurrentFirstAdminCreationsMakeExactlyOneUser()
    {
        using var factory = new MedSegAppFactory(new()
        {
            ["MedSeg:Admin:Email"] = "", ["MedSeg:Admin:Password"] = "", ["MedSeg:Jobs:RunServer"] = "false",
        });
        _ = factory.Services; // start the app: migrations and the admin role
        using var start = new ManualResetEventSlim();
        var attempts = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            await using var scope = factory.Services.CreateAsyncScope();
            var bootstrapper = scope.ServiceProvider.GetRequiredService<AdminBootstrapper>();
            start.Wait();
            return await bootstrapper.CreateAdminAsync($"admin{i}@medseg.test", "Admin-Pass-1");
        })).ToList();
        start.Set();
        var results = await Task.WhenAll(attempts);

        Assert.Single(results, r => r.Count == 0);
        Assert.All(results.Where(r => r.Count > 0), r => Assert.Equal([FirstAdminGate.AlreadyExists], r));
        await using var check = factory.Services.CreateAsyncScope();
        var db = check.ServiceProvider.GetRequiredService<MedSegDbContext>();
        var user = Assert.Single(await db.Users.ToListAsync());
        Assert.True(await check.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().IsInRoleAsync(user, UserContext.AdminRole));
    }

    [Fact]
    public async Task SetupAfterTheFirstAdminIsRefused()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Jobs:RunServer"] = "false" }); // the admin exists already
        await using var scope = factory.Services.CreateAsyncScope();
        var problems = await scope.ServiceProvider.GetRequiredService<AdminBootstrapper>().CreateAdminAsync("second@medseg.test", "Admin-Pass-1");
        Assert.Equal([FirstAdminGate.AlreadyExists], problems);
        Assert.Null(await scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>().FindByEmailAsync("second@medseg.test"));
    }
}
