using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using MedSeg.Data;
using MedSeg.Web.Features.Experiments;
using MedSeg.Web.Infrastructure;
using MedSeg.Web.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MedSeg.Web.Tests.Web;

/// <summary>The scale-out settings: roles, job storage, queues and routing, node names in leases; a web node runs no job
/// server and a worker serves no page; bad values stop the start with the setting named.</summary>
[Collection(AppCollection.Name)]
public sealed class ScaleOutConfigurationTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Theory]
    [InlineData(null, NodeRole.All)]
    [InlineData("web", NodeRole.Web)]
    [InlineData("Worker", NodeRole.Worker)]
    [InlineData(" all ", NodeRole.All)]
    public void RoleIsReadCaseInsensitively(string? value, NodeRole expected) =>
        Assert.Equal(expected, NodeRoles.Read(value is null ? Config() : Config((NodeRoles.Key, value))));

    [Fact]
    public void UnknownRoleNamesTheSettingAndTheChoices()
    {
        var e = Assert.Throws<InvalidOperationException>(() => NodeRoles.Read(Config((NodeRoles.Key, "gpu"))));
        Assert.Contains("MedSeg__Role", e.Message);
        Assert.Contains("web, worker or all", e.Message);
    }

    [Fact]
    public void QueuesAreCheckedAndUnknownOnesNamed()
    {
        Assert.Equal(["training-gpu", "predict"], JobQueues.Parse(" Training-GPU, predict,predict "));
        var e = Assert.Throws<InvalidOperationException>(() => JobQueues.Parse("training,gpu"));
        Assert.Contains("'gpu'", e.Message);
        Assert.Contains("MedSeg__Jobs__Queues", e.Message);
    }

    [Theory]
    [InlineData("auto", "training-gpu,training,training-cpu", "training-gpu")]
    [InlineData(null, "training,training-cpu", "training")]
    [InlineData("auto", "training-cpu", "training-cpu")]
    [InlineData("auto", "", "training")]
    [InlineData("cpu", "training-gpu,training-cpu", "training-cpu")]
    [InlineData("cpu", "training-gpu,training", "training")]
    [InlineData("cuda:1", "training-cpu,training", "training")]
    [InlineData("cuda", "training-cpu", "training-gpu")]
    public void ARunGoesToTheQueueOfItsDevice(string? device, string served, string expected) =>
        Assert.Equal(expected, JobQueues.Route(device, served.Split(',', StringSplitOptions.RemoveEmptyEntries)));

    [Fact]
    public void JobStorageNeedsWhatItUses()
    {
        var sqlite = new DatabaseOptions();
        Assert.Equal(JobStorageKind.Sqlite, JobsExtensions.StorageKind(new JobsOptions(), sqlite, new RedisOptions()));
        var redis = Assert.Throws<InvalidOperationException>(() => JobsExtensions.StorageKind(new JobsOptions { Storage = "Redis" }, sqlite, new RedisOptions()));
        Assert.Contains("MedSeg__Redis__ConnectionString", redis.Message);
        Assert.Equal(JobStorageKind.Redis,
            JobsExtensions.StorageKind(new JobsOptions { Storage = "redis" }, sqlite, new RedisOptions { ConnectionString = "127.0.0.1:6379" }));
        var server = Assert.Throws<InvalidOperationException>(() => JobsExtensions.StorageKind(new JobsOptions { Storage = "SqlServer" }, sqlite, new RedisOptions()));
        Assert.Contains("MedSeg__Database__Provider=SqlServer", server.Message);
        var unknown = Assert.Throws<InvalidOperationException>(() => JobsExtensions.StorageKind(new JobsOptions { Storage = "Mongo" }, sqlite, new RedisOptions()));
        Assert.Contains("Sqlite, SqlServer or Redis", unknown.Message);
    }

    [Fact]
    public void LeasesNameTheNodeAndTheMachine()
    {
        var running = new RunningExperiments(Microsoft.Extensions.Options.Options.Create(new JobsOptions { NodeName = "gpu node:1" }));
        Assert.Equal("gpu-node-1", RunningExperiments.NodeOf(running.RunnerId));
        Assert.Equal(JobQueues.SafeName(Environment.MachineName), RunningExperiments.MachineOf(running.RunnerId));
        Assert.Equal(3, running.RunnerId.Split(':').Length);
        // A lease written before node names: the machine is the node.
        Assert.Equal("host", RunningExperiments.NodeOf("host:12:abc"));
        Assert.Equal("host", RunningExperiments.MachineOf("host:12:abc"));
    }

    [Fact]
    public async Task AWebNodeRunsNoJobServerAndAdvertisesItself()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Role"] = "web", ["MedSeg:Jobs:NodeName"] = "front" });
        using var client = await factory.CreateAuthenticatedClientAsync();
        var health = await client.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("web", health.GetProperty("role").GetString());
        Assert.Equal("front", health.GetProperty("node").GetString());
        Assert.Equal(0, health.GetProperty("queues").GetArrayLength());
        var storage = factory.Services.GetRequiredService<JobStorage>();
        Assert.Empty(storage.GetMonitoringApi().Servers());
        JsonElement nodes = default;
        for (var i = 0; i < 50 && (nodes.ValueKind != JsonValueKind.Array || nodes.GetArrayLength() == 0); i++)
        {
            nodes = await client.GetFromJsonAsync<JsonElement>("/api/admin/nodes");
            if (nodes.GetArrayLength() == 0) await Task.Delay(100);
        }
        var node = Assert.Single(nodes.EnumerateArray());
        Assert.Equal("front", node.GetProperty("name").GetString());
        Assert.Equal("web", node.GetProperty("role").GetString());
        Assert.True(node.GetProperty("alive").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/admin/nodes")).StatusCode);
    }

    [Fact]
    public async Task AWorkerServesItsHealthOnlyAndRunsTheQueuesItIsGiven()
    {
        using var factory = new MedSegAppFactory(new() { ["MedSeg:Role"] = "worker", ["MedSeg:Jobs:Queues"] = "training-cpu", ["MedSeg:Jobs:NodeName"] = "cpu-box" });
        using var client = factory.CreateClient();
        var health = await client.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("worker", health.GetProperty("role").GetString());
        Assert.Equal(["training-cpu"], health.GetProperty("queues").EnumerateArray().Select(q => q.GetString()!).ToArray());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/account/login")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/experiments")).StatusCode);
        var monitoring = factory.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        for (var i = 0; i < 100 && monitoring.Servers().Count == 0; i++) await Task.Delay(100);
        var training = Assert.Single(monitoring.Servers());
        Assert.Equal(["training-cpu"], training.Queues);
        Assert.StartsWith("cpu-box-training", training.Name);
    }

    [Fact]
    public async Task ARunGoingToAGpuWorkerIsAdmittedAgainstThatGpusFreeMemory()
    {
        using var factory = new MedSegAppFactory();
        using var client = await factory.CreateAuthenticatedClientAsync();
        var registry = factory.Services.GetRequiredService<MedSeg.Web.Features.Nodes.NodeRegistry>();
        const long local = 8L << 30;
        Assert.Equal(local, registry.AdmissionCeiling("auto", local));
        var now = DateTimeOffset.UtcNow;
        MedSeg.Web.Features.Nodes.NodeView Gpu(string name, long free, DateTimeOffset at) => new(name, "worker", ["training-gpu", "predict"], 1,
            "cuda (1 GPU)", "NVIDIA H200", free, 140L << 30, 0, "gpu-box", 1, at, at, true);
        registry.Write(Gpu("gpu-1", 20L << 30, now));
        registry.Write(Gpu("gpu-2", 60L << 30, now));
        registry.Write(Gpu("gpu-gone", 120L << 30, now - TimeSpan.FromMinutes(5)));
        // auto and cuda go to the GPUs while a live one serves training-gpu: the largest live one's free memory; cpu stays here.
        Assert.Equal(60L << 30, registry.AdmissionCeiling("auto", local));
        Assert.Equal(60L << 30, registry.AdmissionCeiling(null, local));
        Assert.Equal(60L << 30, registry.AdmissionCeiling("cuda:0", local));
        Assert.Equal(local, registry.AdmissionCeiling("cpu", local));
    }
}
