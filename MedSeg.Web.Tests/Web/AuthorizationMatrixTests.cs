using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Tests.Support;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.SignalR;

namespace MedSeg.Web.Tests.Web;

/// <summary>
/// Every API route (read from the endpoint data source), every page, every hub method and the file routes, as anonymous,
/// another Member, a Viewer, a Member the items are shared with, their owner and an Admin, against one table of expected
/// outcomes. A route added later without a row here fails <see cref="EveryRouteAndPageHasARowInTheTable"/>.
/// </summary>
[Collection(AppCollection.Name)]
public sealed class AuthorizationMatrixTests(AuthorizationMatrixTests.World world) : IClassFixture<AuthorizationMatrixTests.World>
{
    public enum Who { Anonymous, Member, Viewer, Sharee, Owner, Admin }

    private static readonly Who[] Everyone = Enum.GetValues<Who>();

    // Outcomes. Ok: 2xx (for a page: it shows the item). Hidden: 404 (for a page: 200 without the item, its "not found").
    // Allowed: past authorization and visibility, whatever the business rule answers (400 for a bad body, 409 for an item in use).
    private const int Ok = 200, Allowed = 0, Unauthenticated = 401, Forbidden = 403, Hidden = 404;

    /// <summary>Expected outcome per principal, in the order of <see cref="Who"/>.</summary>
    private sealed record Row(Func<World, Who, Task<HttpRequestMessage>> Request, params int[] Expect);

    private static Task<HttpRequestMessage> Get(string url) => Task.FromResult(new HttpRequestMessage(HttpMethod.Get, url));

    private static Task<HttpRequestMessage> Send(HttpMethod method, string url, object? body = null) =>
        Task.FromResult(new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) });

    private static readonly Dictionary<string, Row> Api = new()
    {
        ["POST /api/tokens"] = new((w, who) => Send(HttpMethod.Post, "/api/tokens",
            who == Who.Anonymous ? new { email = w.OwnerEmail, password = Accounts.Password } : new { name = "matrix" }), Ok, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/tokens"] = new((_, _) => Get("/api/tokens"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["DELETE /api/tokens/{id:guid}"] = new(async (w, _) => new(HttpMethod.Delete, $"/api/tokens/{await w.NewOwnerTokenAsync()}"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Hidden),
        ["GET /api/audit"] = new((_, _) => Get("/api/audit"), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["GET /api/admin/nodes"] = new((_, _) => Get("/api/admin/nodes"), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["GET /api/users/"] = new((_, _) => Get("/api/users"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/users/me"] = new((_, _) => Get("/api/users/me"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["POST /api/users/"] = new((_, _) => Send(HttpMethod.Post, "/api/users", new { email = $"m{Guid.NewGuid():N}@lab.test", role = "Viewer" }),
            Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["PATCH /api/users/{id}"] = new((w, _) => Send(HttpMethod.Patch, $"/api/users/{w.TargetUserId}", new { displayName = "Target" }),
            Unauthenticated, Hidden, Hidden, Hidden, Hidden, Ok),
        ["POST /api/users/{id}/password"] = new((w, _) => Send(HttpMethod.Post, $"/api/users/{w.TargetUserId}/password", new { }),
            Unauthenticated, Hidden, Hidden, Hidden, Hidden, Ok),
        ["GET /api/quotas/me"] = new((_, _) => Get("/api/quotas/me"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        // Every signed-in user sees the whole training queue (names only of runs they may see).
        ["GET /api/queue"] = new((_, _) => Get("/api/queue"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        // Everyone has notifications of their own, and only their own: the owner's (its run completed) is no one else's, an admin's neither.
        ["GET /api/notifications/"] = new((_, _) => Get("/api/notifications?unread=true"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["POST /api/notifications/{id:guid}/read"] = new(async (w, _) => new(HttpMethod.Post, $"/api/notifications/{await w.OwnerNotificationAsync()}/read"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Hidden),
        ["POST /api/notifications/read-all"] = new((_, _) => Send(HttpMethod.Post, "/api/notifications/read-all"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),

        ["POST /api/datasets/"] = new((_, _) => Task.FromResult(new HttpRequestMessage(HttpMethod.Post, "/api/datasets")
            { Content = DatasetsApiTests.Upload("matrix upload", SyntheticDataset.Zip(2, 32)) }), Unauthenticated, Ok, Forbidden, Ok, Ok, Ok),
        ["GET /api/datasets/"] = new((_, _) => Get("/api/datasets"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/experiments/suggestions"] = new((w, _) => Get($"/api/experiments/suggestions?datasetId={w.DatasetId}&model=unext"),
            Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        // The same suggestions under the dataset, with the request the form submits: the same access.
        ["GET /api/datasets/{id:guid}/suggestion"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}/suggestion?model=unext"),
            Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/models"] = new((_, _) => Get("/api/models"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/uploads/"] = new((_, _) => Get("/api/uploads"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/uploads/{id:guid}"] = new((w, _) => Get($"/api/uploads/{w.UploadId}"), Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["GET /api/uploads/{id:guid}/report.csv"] = new((w, _) => Get($"/api/uploads/{w.UploadId}/report.csv"), Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        // The owner's upload has ended (refused): admitting or cancelling it is past authorization, and answers 409.
        ["POST /api/uploads/{id:guid}/admit"] = new((w, _) => Send(HttpMethod.Post, $"/api/uploads/{w.UploadId}/admit", new { }),
            Unauthenticated, Hidden, Forbidden, Hidden, Allowed, Allowed),
        ["DELETE /api/uploads/{id:guid}"] = new((w, _) => Send(HttpMethod.Delete, $"/api/uploads/{w.UploadId}"),
            Unauthenticated, Hidden, Forbidden, Hidden, Allowed, Allowed),
        ["GET /api/datasets/{id:guid}"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/datasets/{id:guid}/cases"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}/cases"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/datasets/{id:guid}/cases/{caseId:guid}/{rendition}.png"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}/cases/{w.CaseId}/overlay.png"),
            Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        // A new version each time (fresh names); an unknown case id is refused (400) once past authorization.
        ["POST /api/datasets/{id:guid}/cases"] = new((w, _) => Task.FromResult(new HttpRequestMessage(HttpMethod.Post, $"/api/datasets/{w.DatasetId}/cases")
            { Content = new MultipartFormDataContent { { new ByteArrayContent(DatasetVersionsApiTests.ZipOf([$"matrix-{Guid.NewGuid():N}"])), "file", "more.zip" } } }),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["POST /api/datasets/{id:guid}/cases/remove"] = new((w, _) => Send(HttpMethod.Post, $"/api/datasets/{w.DatasetId}/cases/remove", new { caseIds = new[] { Guid.NewGuid() } }),
            Unauthenticated, Hidden, Hidden, Forbidden, Allowed, Allowed),
        ["GET /api/datasets/{id:guid}/splits"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}/splits"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["POST /api/datasets/{id:guid}/splits"] = new((w, _) => Send(HttpMethod.Post, $"/api/datasets/{w.DatasetId}/splits", new { kind = "random", seed = 3 }),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["GET /api/datasets/{id:guid}/export.zip"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}/export.zip"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["PUT /api/datasets/{id:guid}/classes"] = new((w, _) => Send(HttpMethod.Put, $"/api/datasets/{w.DatasetId}/classes",
            new[] { new { value = 0, name = "background", colour = "#000000" }, new { value = 1, name = "lesion", colour = "#ffc400" } }),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        // In use by the experiment: the owner and an admin are answered 409 naming it, nothing is deleted.
        ["DELETE /api/datasets/{id:guid}"] = new((w, _) => Send(HttpMethod.Delete, $"/api/datasets/{w.DatasetId}"),
            Unauthenticated, Hidden, Hidden, Forbidden, Allowed, Allowed),
        ["GET /api/datasets/{id:guid}/shares/"] = new((w, _) => Get($"/api/datasets/{w.DatasetId}/shares"), Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["POST /api/datasets/{id:guid}/shares/"] = new((w, _) => Send(HttpMethod.Post, $"/api/datasets/{w.DatasetId}/shares", new { userId = w.TargetUserId }),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["DELETE /api/datasets/{id:guid}/shares/{shareId:guid}"] = new(async (w, _) =>
            new(HttpMethod.Delete, $"/api/datasets/{w.DatasetId}/shares/{await w.NewShareAsync("datasets", w.DatasetId)}"),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),

        // epochs 0: refused by validation once past authorization, so the matrix trains nothing.
        ["POST /api/experiments/"] = new((w, _) => Send(HttpMethod.Post, "/api/experiments",
            new { datasetId = w.DatasetId, model = "unext", epochs = 0, batchSize = 2, imageSize = 32, learningRate = 0.01 }),
            Unauthenticated, Allowed, Forbidden, Allowed, Allowed, Allowed),
        ["GET /api/experiments/"] = new((_, _) => Get("/api/experiments"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/experiments/{id:guid}"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/experiments/{id:guid}/cases"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/cases"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/experiments/{id:guid}/cases.csv"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/cases.csv"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/experiments/{id:guid}/volumes"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/volumes"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        // A 2D experiment: past visibility it is answered 409 (no evaluated volumes).
        ["GET /api/experiments/{id:guid}/volume-masks.zip"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/volume-masks.zip"),
            Unauthenticated, Hidden, Hidden, Allowed, Allowed, Allowed),
        // Read access is enough to download the weights (the export is built once, then served from its cache).
        ["GET /api/experiments/{id:guid}/export.zip"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/export.zip"),
            Unauthenticated, Hidden, Hidden, Allowed, Allowed, Allowed),
        // Completed: cancel and resume are no-ops for those allowed to ask.
        ["POST /api/experiments/{id:guid}/cancel"] = new((w, _) => Send(HttpMethod.Post, $"/api/experiments/{w.ExperimentId}/cancel"),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["POST /api/experiments/{id:guid}/resume"] = new((w, _) => Send(HttpMethod.Post, $"/api/experiments/{w.ExperimentId}/resume"),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        // A copy of the completed run (1 epoch, tiny): the sharee sees its dataset too, so may train it again as theirs.
        ["POST /api/experiments/{id:guid}/clone"] = new((w, _) => Send(HttpMethod.Post, $"/api/experiments/{w.ExperimentId}/clone"),
            Unauthenticated, Hidden, Forbidden, Ok, Ok, Ok),
        // epochs 0: every member refused by validation once past authorization, so nothing trains.
        ["POST /api/experiment-groups/"] = new((w, _) => Send(HttpMethod.Post, "/api/experiment-groups", new
        {
            @base = new { datasetId = w.DatasetId, model = "unext", epochs = 0, batchSize = 2, imageSize = 32, learningRate = 0.01 }, seeds = new[] { 1, 2 },
        }), Unauthenticated, Allowed, Forbidden, Allowed, Allowed, Allowed),
        ["GET /api/experiment-groups/"] = new((_, _) => Get("/api/experiment-groups"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        // A group is its owner's (and an admin's); sharing a member does not share the group.
        ["GET /api/experiment-groups/{id:guid}"] = new((w, _) => Get($"/api/experiment-groups/{w.GroupId}"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        // epochs 0: refused by validation once past authorization, so nothing trains.
        ["POST /api/leaderboards/"] = new((w, _) => Send(HttpMethod.Post, "/api/leaderboards", new { datasetId = w.DatasetId, models = new[] { "unext" }, epochs = 0 }),
            Unauthenticated, Allowed, Forbidden, Allowed, Allowed, Allowed),
        ["GET /api/leaderboards/"] = new((_, _) => Get("/api/leaderboards"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        // A leaderboard is its owner's (and an admin's), as a group is.
        ["GET /api/leaderboards/{id:guid}"] = new((w, _) => Get($"/api/leaderboards/{w.LeaderboardId}"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["GET /api/leaderboards/{id:guid}/table.csv"] = new((w, _) => Get($"/api/leaderboards/{w.LeaderboardId}/table.csv"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        // The shared run with the owner's group (which has no members): past visibility, one run is refused as too few (400);
        // the sharee sees the run but not the group.
        ["GET /api/compare"] = new((w, _) => Get($"/api/compare?ids={w.ExperimentId}&groups={w.GroupId}"),
            Unauthenticated, Hidden, Hidden, Hidden, Allowed, Allowed),
        ["GET /api/experiments/{id:guid}/files/{**path}"] = new((w, _) => Get(ExperimentService.FileUrl(w.ExperimentId, w.PreviewPath, 64)),
            Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["GET /api/experiments/{id:guid}/log"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/log?tail=5"),
            Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["DELETE /api/experiments/{id:guid}"] = new(async (w, who) =>
            new(HttpMethod.Delete, $"/api/experiments/{(who is Who.Owner or Who.Admin ? await w.NewExperimentAsync() : w.ExperimentId)}"),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["GET /api/experiments/{id:guid}/shares/"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/shares"),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["POST /api/experiments/{id:guid}/shares/"] = new((w, _) => Send(HttpMethod.Post, $"/api/experiments/{w.ExperimentId}/shares", new { userId = w.TargetUserId }),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),
        ["DELETE /api/experiments/{id:guid}/shares/{shareId:guid}"] = new(async (w, _) =>
            new(HttpMethod.Delete, $"/api/experiments/{w.ExperimentId}/shares/{await w.NewShareAsync("experiments", w.ExperimentId)}"),
            Unauthenticated, Hidden, Hidden, Forbidden, Ok, Ok),

        ["POST /api/experiments/{id:guid}/predictions/"] = new((w, _) => Task.FromResult(new HttpRequestMessage(HttpMethod.Post,
            $"/api/experiments/{w.ExperimentId}/predictions") { Content = World.PredictionUpload() }), Unauthenticated, Hidden, Forbidden, Ok, Ok, Ok),
        ["GET /api/experiments/{id:guid}/predictions/"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/predictions"),
            Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        // A run is its starter's and the experiment manager's: a sharee sees their own runs, not the owner's.
        ["GET /api/experiments/{id:guid}/predictions/{runId:guid}"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/predictions/{w.RunId}"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["GET /api/experiments/{id:guid}/predictions/{runId:guid}/masks.zip"] = new((w, _) => Get($"/api/experiments/{w.ExperimentId}/predictions/{w.RunId}/masks.zip"),
            Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["GET /api/experiments/{id:guid}/predictions/{runId:guid}/images/{name}.png"] = new((w, _) =>
            Get($"/api/experiments/{w.ExperimentId}/predictions/{w.RunId}/images/{World.PredictedImage}.png"), Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["DELETE /api/experiments/{id:guid}/predictions/{runId:guid}"] = new(async (w, who) =>
            new(HttpMethod.Delete, $"/api/experiments/{w.ExperimentId}/predictions/{(who is Who.Owner or Who.Admin ? await w.NewRunAsync() : w.RunId)}"),
            Unauthenticated, Hidden, Hidden, Hidden, Allowed, Allowed),

        // The weights library: everyone signed in lists it; only admins upload (a garbage file: refused, 400, once past
        // authorization) and delete (an unknown id: 404 once past authorization).
        ["GET /api/weights/"] = new((_, _) => Get("/api/weights"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["POST /api/weights/"] = new((_, _) => Task.FromResult(new HttpRequestMessage(HttpMethod.Post, "/api/weights")
            { Content = WeightsApiTests.Form("not weights"u8.ToArray(), "matrix.pth") }), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Allowed),
        ["DELETE /api/weights/{id:guid}"] = new((_, _) => Send(HttpMethod.Delete, $"/api/weights/{Guid.NewGuid()}"),
            Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Hidden),
        // The API reference: its OpenAPI document and its page (a signed-out browser is sent to sign in), for every signed-in user.
        ["GET /openapi/{documentName}.json"] = new((_, _) => Get("/openapi/v1.json"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/reference/{documentName?}"] = new((_, _) => Get("/api/reference/"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        // Scalar's bundled assets, served by the app (no CDN): public vendor files like the app's own static assets (Scalar
        // maps them anonymous); they hold no data, the document and the page above do not load for anyone signed out.
        ["GET /api/reference/scalar.js"] = new((_, _) => Get("/api/reference/scalar.js"), Ok, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/reference/scalar.aspnetcore.js"] = new((_, _) => Get("/api/reference/scalar.aspnetcore.js"), Ok, Ok, Ok, Ok, Ok, Ok),
        ["GET /api/reference/favicon.svg"] = new((_, _) => Get("/api/reference/favicon.svg"), Ok, Ok, Ok, Ok, Ok, Ok),

        // A form post without its antiforgery token: refused as a bad request once past authentication.
        ["POST /account/logout"] = new((_, _) => Send(HttpMethod.Post, "/account/logout"), Unauthenticated, Allowed, Allowed, Allowed, Allowed, Allowed),
    };

    /// <summary>Pages by route template; the request fills in the item. For an item page, Ok means its name is on it.</summary>
    private static readonly Dictionary<string, Row> Pages = new()
    {
        ["/"] = new((_, _) => Get("/"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/not-found"] = new((_, _) => Get("/not-found"), Ok, Ok, Ok, Ok, Ok, Ok),
        ["/account/login"] = new((_, _) => Get("/account/login"), Ok, Ok, Ok, Ok, Ok, Ok),
        ["/account/denied"] = new((_, _) => Get("/account/denied"), Ok, Ok, Ok, Ok, Ok, Ok),
        // Users exist: the first-admin page sends everyone to sign in.
        ["/setup"] = new((_, _) => Get("/setup"), Unauthenticated, Unauthenticated, Unauthenticated, Unauthenticated, Unauthenticated, Unauthenticated),
        ["/account"] = new((_, _) => Get("/account"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/account/tokens"] = new((_, _) => Get("/account/tokens"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/users"] = new((_, _) => Get("/users"), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["/audit"] = new((_, _) => Get("/audit"), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["/admin/weights"] = new((_, _) => Get("/admin/weights"), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["/admin/nodes"] = new((_, _) => Get("/admin/nodes"), Unauthenticated, Forbidden, Forbidden, Forbidden, Forbidden, Ok),
        ["/datasets"] = new((_, _) => Get("/datasets"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/datasets/{Id:guid}"] = new((w, _) => Get($"/datasets/{w.DatasetId}"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["/experiments"] = new((_, _) => Get("/experiments"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/queue"] = new((_, _) => Get("/queue"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/experiments/new"] = new((_, _) => Get("/experiments/new"), Unauthenticated, Ok, Forbidden, Ok, Ok, Ok),
        ["/experiments/{Id:guid}"] = new((w, _) => Get($"/experiments/{w.ExperimentId}"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["/experiments/{Id:guid}/review"] = new((w, _) => Get($"/experiments/{w.ExperimentId}/review"), Unauthenticated, Hidden, Hidden, Ok, Ok, Ok),
        ["/groups"] = new((_, _) => Get("/groups"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/compare"] = new((w, _) => Get($"/compare?ids={w.ExperimentId}&groups={w.GroupId}"), Unauthenticated, Hidden, Hidden, Hidden, Allowed, Allowed),
        ["/groups/{Id:guid}"] = new((w, _) => Get($"/groups/{w.GroupId}"), Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["/leaderboards"] = new((_, _) => Get("/leaderboards"), Unauthenticated, Ok, Ok, Ok, Ok, Ok),
        ["/leaderboards/{Id:guid}"] = new((w, _) => Get($"/leaderboards/{w.LeaderboardId}"), Unauthenticated, Hidden, Hidden, Hidden, Ok, Ok),
        ["/experiments/{Id:guid}/predict"] = new((w, _) => Get($"/experiments/{w.ExperimentId}/predict"), Unauthenticated, Hidden, Forbidden, Ok, Ok, Ok),
    };

    /// <summary>File routes that try to leave the run folder or the data root: never served, to anyone.</summary>
    private static readonly string[] Escapes =
    [
        "files/..%2F..%2Fmedseg.db", "files/%2e%2e/%2e%2e/medseg.db", "files/%2E%2E%2F%2E%2E%2Fkeys", "files/../../medseg.db",
        "files/%2Fetc%2Fpasswd", "files//etc/passwd", "files/previews/..%2F..%2F..%2Fmedseg.db", "files/checkpoints/best.pt",
    ];

    [Fact]
    public void EveryRouteAndPageHasARowInTheTable()
    {
        var endpoints = world.Factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        // Pages are endpoints too (GET, and POST for their forms): they are checked as pages, below.
        var api = endpoints.Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Components.Endpoints.ComponentTypeMetadata>() is null)
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith("/api") || raw.StartsWith("/account") || raw.StartsWith("/openapi")))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {e.RoutePattern.RawText}"))
            .ToHashSet();
        var pages = typeof(Program).Assembly.GetTypes().Where(t => typeof(IComponent).IsAssignableFrom(t))
            .SelectMany(t => t.GetCustomAttributes<RouteAttribute>()).Select(r => r.Template).ToHashSet();
        var missing = api.Where(k => !Api.ContainsKey(k)).Concat(pages.Where(p => !Pages.ContainsKey(p)).Select(p => "PAGE " + p)).ToList();
        var stale = Api.Keys.Where(k => !api.Contains(k)).Concat(Pages.Keys.Where(p => !pages.Contains(p)).Select(p => "PAGE " + p)).ToList();
        Assert.True(missing.Count == 0, "Add these routes to the authorization table with their expected outcomes:\n" + string.Join("\n", missing));
        Assert.True(stale.Count == 0, "These rows name no route (renamed or removed?):\n" + string.Join("\n", stale));
        var hubMethods = typeof(ExperimentHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly).Select(m => m.Name).Order();
        Assert.Equal(["Join", "Leave"], hubMethods);
    }

    [Fact]
    public async Task EveryApiRouteAnswersEachPrincipalAsTheTableSays() => await CheckAsync(Api, page: false);

    [Fact]
    public async Task EveryPageAnswersEachPrincipalAsTheTableSays() => await CheckAsync(Pages, page: true);

    private async Task CheckAsync(Dictionary<string, Row> table, bool page)
    {
        var wrong = new List<string>();
        foreach (var (key, row) in table)
        {
            foreach (var who in Everyone)
            {
                using var request = await row.Request(world, who);
                // Pages as a browser opens them (the sign-in cookie), the API as scripts call it (a bearer token).
                using var response = await (page ? world.Browser(who) : world.Client(who)).SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                var got = Outcome(response, body, page);
                var expected = row.Expect[(int)who];
                if (!Matches(expected, got))
                {
                    wrong.Add($"{key} as {who}: expected {Name(expected)}, got {(int)response.StatusCode} {Name(got)} {Excerpt(body)}");
                }
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task FileRoutesNeverLeaveTheirFolderForAnyone()
    {
        var wrong = new List<string>();
        foreach (var who in Everyone)
        {
            foreach (var escape in Escapes)
            {
                using var response = await world.Client(who).GetAsync($"/api/experiments/{world.ExperimentId}/{escape}");
                var status = (int)response.StatusCode;
                if (status != (who == Who.Anonymous ? 401 : 404) && status != 400) wrong.Add($"{escape} as {who}: {status}");
            }
            using var rendition = await world.Client(who).GetAsync($"/api/datasets/{world.DatasetId}/cases/{world.CaseId}/..%2F..%2Fmedseg.db.png");
            if ((int)rendition.StatusCode is not (401 or 404 or 400)) wrong.Add($"rendition escape as {who}: {(int)rendition.StatusCode}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    /// <summary>The review viewer's label renditions go through the run's file route: whoever sees the run gets them (PNG),
    /// everyone else exactly what the route's row says (401 anonymous, 404 hidden); a name that is no mask is not found.</summary>
    [Fact]
    public async Task ReviewLabelsAnswerEachPrincipalAsTheFileRoute()
    {
        var cases = await world.Client(Who.Owner).GetFromJsonAsync<JsonElement>($"/api/experiments/{world.ExperimentId}/cases");
        var caseId = cases[0].GetProperty("caseId").GetGuid();
        var expected = Api["GET /api/experiments/{id:guid}/files/{**path}"].Expect;
        var wrong = new List<string>();
        foreach (var who in Everyone)
        {
            foreach (var source in Enum.GetValues<LabelSource>())
            {
                using var response = await world.Client(who).GetAsync(ReviewLabels.Url(world.ExperimentId, caseId, source, 64));
                var got = (int)response.StatusCode;
                if (expected[(int)who] == Ok ? got != 200 || response.Content.Headers.ContentType?.MediaType != "image/png" : got != expected[(int)who])
                    wrong.Add($"{source} labels as {who}: {got}");
            }
            using var bogus = await world.Client(who).GetAsync(ExperimentService.FileUrl(world.ExperimentId, $"labels/{caseId:N}/overlay.png", 64));
            if ((int)bogus.StatusCode != (who == Who.Anonymous ? 401 : 404)) wrong.Add($"labels/overlay.png as {who}: {(int)bogus.StatusCode}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public async Task HubJoinAdmitsExactlyThoseWhoSeeTheExperiment()
    {
        var expected = new Dictionary<Who, int>
        {
            [Who.Anonymous] = Unauthenticated, [Who.Member] = Hidden, [Who.Viewer] = Hidden, [Who.Sharee] = Ok, [Who.Owner] = Ok, [Who.Admin] = Ok,
        };
        var wrong = new List<string>();
        foreach (var who in Everyone)
        {
            var token = world.Tokens.GetValueOrDefault(who);
            await using var connection = new HubConnectionBuilder()
                .WithUrl(new Uri(world.Factory.Server.BaseAddress, ExperimentHub.Url), o =>
                {
                    o.HttpMessageHandlerFactory = _ => world.Factory.Server.CreateHandler();
                    o.Transports = HttpTransportType.LongPolling;
                    if (token is not null) o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                })
                .Build();
            int got;
            try
            {
                await connection.StartAsync();
                try
                {
                    await connection.InvokeAsync("Join", world.ExperimentId);
                    got = Ok;
                }
                catch (HubException)
                {
                    got = Hidden;
                }
                // Leave asks nothing of the caller: it only removes their own connection from the group.
                await connection.InvokeAsync("Leave", world.ExperimentId);
            }
            catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Unauthorized)
            {
                got = Unauthenticated;
            }
            if (got != expected[who]) wrong.Add($"Join as {who}: expected {Name(expected[who])}, got {Name(got)}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    private int Outcome(HttpResponseMessage response, string body, bool page)
    {
        var location = response.Headers.Location?.OriginalString ?? "";
        if ((int)response.StatusCode is >= 300 and < 400)
        {
            return location.Contains("/account/denied") ? Forbidden : location.Contains("/account/login") ? Unauthenticated : (int)response.StatusCode;
        }
        if (response.StatusCode != HttpStatusCode.OK || !page) return (int)response.StatusCode;
        // An item page that does not show the item answers 200 with its "not found" message.
        if (body.Contains(world.DatasetName) || body.Contains(world.ExperimentName)) return Ok;
        return body.Contains("not found", StringComparison.OrdinalIgnoreCase) && !response.RequestMessage!.RequestUri!.AbsolutePath.Contains("not-found") ? Hidden : Ok;
    }

    private static bool Matches(int expected, int got) =>
        expected == Allowed ? got is not (401 or 403 or 404) and < 500 : expected == Ok ? got is >= 200 and < 300 : got == expected;

    private static string Name(int outcome) => outcome switch
    {
        Allowed => "allowed",
        Ok => "ok",
        Unauthenticated => "401",
        Forbidden => "403",
        Hidden => "404/hidden",
        _ => outcome.ToString(),
    };

    private static string Excerpt(string body) => body.Length <= 160 ? body : body[..160] + "…";

    /// <summary>One owner's dataset and trained experiment with a prediction run, shared with one Member; the other principals.</summary>
    public sealed class World : IAsyncLifetime
    {
        public const string PredictedImage = "scan";
        public MedSegAppFactory Factory { get; } = new();
        public Dictionary<Who, string> Tokens { get; } = [];
        private readonly Dictionary<Who, HttpClient> clients = [];
        public string DatasetName => "matrix discs";
        public string ExperimentName => "matrix run";
        public string OwnerEmail { get; private set; } = "";
        public string TargetUserId { get; private set; } = "";
        public Guid DatasetId { get; private set; }
        public Guid CaseId { get; private set; }
        /// <summary>An upload of the owner's that was refused (its report is kept an hour).</summary>
        public Guid UploadId { get; private set; }
        public Guid ExperimentId { get; private set; }
        public Guid RunId { get; private set; }
        /// <summary>A group of the owner's (stored directly: its name holds the experiment's, as the pages check).</summary>
        public Guid GroupId { get; private set; }
        /// <summary>A leaderboard of the owner's (stored directly, without runs: its table is empty).</summary>
        public Guid LeaderboardId { get; private set; }
        private string ownerId = "";
        public string PreviewPath { get; private set; } = "";
        private string shareeId = "";

        public HttpClient Client(Who who) => clients[who];

        /// <summary>A browser's client: the sign-in cookie (anonymous: none).</summary>
        public HttpClient Browser(Who who) => browsers[who];

        private readonly Dictionary<Who, HttpClient> browsers = [];

        public async Task InitializeAsync()
        {
            clients[Who.Anonymous] = Factory.CreateClient(new() { AllowAutoRedirect = false });
            var admin = await Factory.CreateAuthenticatedClientAsync();
            clients[Who.Admin] = admin;
            browsers[Who.Anonymous] = clients[Who.Anonymous];
            browsers[Who.Admin] = await CookieSignIn.ClientAsync(Factory);
            foreach (var (who, role) in new[] { (Who.Member, "Member"), (Who.Viewer, "Viewer"), (Who.Sharee, "Member"), (Who.Owner, "Member") })
            {
                var user = await Accounts.CreateAsync(Factory, admin, role, $"{who.ToString().ToLowerInvariant()}@matrix.test");
                clients[who] = user.Client;
                browsers[who] = await CookieSignIn.ClientAsync(Factory, user.Email, user.Password);
                if (who == Who.Owner) (OwnerEmail, ownerId) = (user.Email, user.Id);
                if (who == Who.Sharee) shareeId = user.Id;
            }
            TargetUserId = (await Accounts.CreateAsync(Factory, admin, "Member", "target@matrix.test")).Id;
            foreach (var (who, client) in clients) if (client.DefaultRequestHeaders.Authorization is { } auth) Tokens[who] = auth.Parameter!;

            var owner = clients[Who.Owner];
            var upload = await owner.PostAsync("/api/datasets", DatasetsApiTests.Upload(DatasetName, SyntheticDataset.Zip(6, 32)));
            DatasetId = (await upload.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            CaseId = (await owner.GetFromJsonAsync<JsonElement>($"/api/datasets/{DatasetId}/cases"))[0].GetProperty("id").GetGuid();
            var refused = await owner.PostAsync("/api/datasets", DatasetsApiTests.Upload("refused", SyntheticDataset.Zip(2, 16,
                tamper: zip => SyntheticDataset.Add(zip, "images/orphan.png", SyntheticDataset.Case(new Random(1), 16, 16).Image))));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            UploadId = Guid.Parse((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("report").GetString()!.Split('/')[3]);
            ExperimentId = await LaunchAsync(ExperimentName);
            var trained = await ExperimentsApiTests.WaitForStatusAsync(owner, ExperimentId, "Completed", TimeSpan.FromMinutes(3));
            PreviewPath = new Uri("http://x" + trained.GetProperty("previews")[0].GetProperty("predictionUrl").GetString()).AbsolutePath
                .Split("/files/")[1];
            PreviewPath = Uri.UnescapeDataString(PreviewPath);
            RunId = await NewRunAsync();
            await WaitForRunAsync(RunId);
            await using (var db = await Factory.Services.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<MedSeg.Data.MedSegDbContext>>().CreateDbContextAsync())
            {
                var group = new MedSeg.Data.Entities.ExperimentGroup
                {
                    Id = Guid.NewGuid(), Name = $"{ExperimentName} group", OwnerId = ownerId, DatasetId = DatasetId, Kind = "seeds", BaseJson = "{}",
                };
                db.ExperimentGroups.Add(group);
                var board = new MedSeg.Data.Entities.ExperimentGroup
                {
                    Id = Guid.NewGuid(), Name = $"{ExperimentName} leaderboard", OwnerId = ownerId, DatasetId = DatasetId,
                    Kind = MedSeg.Web.Features.Leaderboards.LeaderboardService.Kind, BaseJson = """{"epochs":1,"models":["unext"]}""",
                };
                db.ExperimentGroups.Add(board);
                await db.SaveChangesAsync();
                GroupId = group.Id;
                LeaderboardId = board.Id;
            }
            foreach (var kind in new[] { ("datasets", DatasetId), ("experiments", ExperimentId) })
            {
                var share = await owner.PostAsJsonAsync($"/api/{kind.Item1}/{kind.Item2}/shares", new { userId = shareeId });
                Assert.Equal(HttpStatusCode.Created, share.StatusCode);
            }
        }

        private async Task<Guid> LaunchAsync(string name, int epochs = 1)
        {
            var response = await clients[Who.Owner].PostAsJsonAsync("/api/experiments",
                new { datasetId = DatasetId, name, model = "unext", epochs, batchSize = 2, imageSize = 32, learningRate = 0.01 });
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }

        /// <summary>A queued experiment of the owner's, for a delete to take.</summary>
        public Task<Guid> NewExperimentAsync() => LaunchAsync("matrix throwaway", epochs: 50);

        public async Task<Guid> NewRunAsync()
        {
            var response = await clients[Who.Owner].PostAsync($"/api/experiments/{ExperimentId}/predictions", PredictionUpload());
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }

        private async Task WaitForRunAsync(Guid runId)
        {
            var until = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < until)
            {
                var run = await clients[Who.Owner].GetFromJsonAsync<JsonElement>($"/api/experiments/{ExperimentId}/predictions/{runId}");
                var status = run.GetProperty("summary").GetProperty("status").GetString();
                if (status == "Completed") return;
                Assert.NotEqual("Failed", status);
                await Task.Delay(250);
            }
            Assert.Fail("The prediction run did not complete.");
        }

        public static MultipartFormDataContent PredictionUpload()
        {
            using var buffer = new MemoryStream();
            using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            {
                SyntheticDataset.Add(zip, $"images/{PredictedImage}.png", SyntheticDataset.Case(new Random(5), 32, 32).Image);
            }
            return new MultipartFormDataContent { { new ByteArrayContent(buffer.ToArray()), "file", "images.zip" } };
        }

        public async Task<Guid> NewShareAsync(string kind, Guid id)
        {
            var response = await clients[Who.Owner].PostAsJsonAsync($"/api/{kind}/{id}/shares", new { userId = TargetUserId });
            var share = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
            return share;
        }

        /// <summary>The owner's latest notification (their run completed; it is written just after the status).</summary>
        public async Task<Guid> OwnerNotificationAsync()
        {
            for (var i = 0; i < 100; i++)
            {
                var list = await clients[Who.Owner].GetFromJsonAsync<JsonElement>("/api/notifications");
                if (list.GetArrayLength() > 0) return list[0].GetProperty("id").GetGuid();
                await Task.Delay(100);
            }
            throw new InvalidOperationException("The owner has no notification.");
        }

        public async Task<Guid> NewOwnerTokenAsync()
        {
            var response = await clients[Who.Owner].PostAsJsonAsync("/api/tokens", new { name = "to revoke" });
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
        }

        public Task DisposeAsync()
        {
            Factory.Dispose();
            return Task.CompletedTask;
        }
    }
}
