using System.Diagnostics;
using MedSeg.Engine.Models;
using MedSeg.Engine.Training;
using static TorchSharp.torch;

namespace MedSeg.Web.Tests.Engine;

/// <summary>
/// Exact resume: a run interrupted after epoch 1 (cancelled in-process, or its process killed mid-epoch 2) and started
/// again on the same run directory reproduces the curve and the weights of an uninterrupted run with the same seed.
/// </summary>
[Collection(ResumeCollection.Name)]
public sealed class ResumeTests(SmallDataset data) : IClassFixture<SmallDataset>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ResumeAfterCancellationInProcessReproducesTheUninterruptedCurve()
    {
        var full = data.Plan("resume-full", epochs: 3) with { EarlyStoppingPatience = 5 };
        await new Trainer().RunAsync(full, new RecordingObserver(), CancellationToken.None).WaitAsync(Timeout);

        var interrupted = full with { RunDirectory = data.Dir["resume-cancelled"] };
        using var cts = new CancellationTokenSource();
        var observer = new RecordingObserver(b => { if (b.Epoch == 2) cts.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new Trainer().RunAsync(interrupted, observer, cts.Token).WaitAsync(Timeout));
        Assert.Equal(1, Checkpoints.ReadState(interrupted.RunDirectory, "last")!.Epoch);
        var resumed = new RecordingObserver();
        await new Trainer().RunAsync(interrupted, resumed, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(2, Assert.Single(resumed.Started).StartEpoch);

        AssertSameCurveAndWeights(full.RunDirectory, interrupted.RunDirectory, fromEpoch: 1);
        Assert.Equal(Checkpoints.ReadState(full.RunDirectory, "last")!.EpochsWithoutImprovement,
            Checkpoints.ReadState(interrupted.RunDirectory, "last")!.EpochsWithoutImprovement);
    }

    [Fact]
    public async Task ResumeAfterKillReproducesTheUninterruptedCurve()
    {
        if (OperatingSystem.IsWindows()) return; // the kill point is held with a named pipe (mkfifo), Unix only
        var cli = await MedSegCli.LocateAsync();
        var dataset = data.Dir["data"];
        string[] Args(string run) =>
            ["train", "--data", dataset, "--model", "unext", "--out", run, "--epochs", "3", "--size", "32", "--batch", "2",
             "--lr", "3e-3", "--seed", "5", "--device", "cpu", "--threads", "1"];

        // A: uninterrupted.
        var runA = data.Dir["kill-a"];
        var a = await MedSegCli.RunAsync(cli, Args(runA));
        Assert.True(a.ExitCode == 0, a.Output);

        // B: the progress file is a named pipe, so the child blocks after each batch until this test reads the line;
        // it is killed while epoch 2 is under way (batch 1 done, batch 2 running or waiting), a deterministic point.
        var runB = data.Dir["kill-b"];
        var fifo = data.Dir["kill-b.progress"];
        var mkfifo = await MedSegCli.RunAsync(null, [fifo], program: "mkfifo");
        Assert.True(mkfifo.ExitCode == 0, mkfifo.Output);
        using (var child = MedSegCli.Start(cli, [.. Args(runB), "--progress-file", fifo]))
        {
            try
            {
                var reader = Task.Run(() =>
                {
                    while (true)
                    {
                        var line = File.ReadAllText(fifo).Trim(); // blocks until the child writes the next batch
                        if (line.StartsWith("2 1 ", StringComparison.Ordinal)) return line;
                    }
                });
                await reader.WaitAsync(Timeout);
            }
            finally
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync();
            }
        }
        Assert.Equal(1, Checkpoints.ReadState(runB, "last")!.Epoch);

        var b = await MedSegCli.RunAsync(cli, Args(runB));
        Assert.True(b.ExitCode == 0, b.Output);
        Assert.Contains("resuming at epoch 2 of 3", b.Output);

        AssertSameCurveAndWeights(runA, runB, fromEpoch: 1);
    }

    private static void AssertSameCurveAndWeights(string expectedRun, string actualRun, int fromEpoch)
    {
        var expected = Checkpoints.ReadState(expectedRun, "last")!;
        var actual = Checkpoints.ReadState(actualRun, "last")!;
        Assert.Equal(expected.Epoch, actual.Epoch);
        Assert.Equal((expected.BestEpoch, expected.LearningRate), (actual.BestEpoch, actual.LearningRate));
        foreach (var (e, r) in expected.History.Zip(actual.History).Where(p => p.First.Epoch >= fromEpoch))
        {
            Assert.Equal(e.Epoch, r.Epoch);
            Assert.True(Math.Abs(e.TrainLoss - r.TrainLoss) < 1e-5, $"epoch {e.Epoch}: train loss {e.TrainLoss} vs {r.TrainLoss}");
            Assert.True(Math.Abs(e.ValidationLoss - r.ValidationLoss) < 1e-5, $"epoch {e.Epoch}: val loss {e.ValidationLoss} vs {r.ValidationLoss}");
            Assert.True(Math.Abs(e.ValidationDice - r.ValidationDice) < 1e-5, $"epoch {e.Epoch}: val Dice {e.ValidationDice} vs {r.ValidationDice}");
            Assert.Equal(e.LearningRate, r.LearningRate, 15);
        }

        using var scope = NewDisposeScope();
        using var left = ModelRegistry.Create("unext", new ModelOptions());
        using var right = ModelRegistry.Create("unext", new ModelOptions());
        left.load(Checkpoints.Weights(expectedRun, "last"));
        right.load(Checkpoints.Weights(actualRun, "last"));
        var rightState = right.state_dict();
        foreach (var (name, value) in left.state_dict())
        {
            var diff = (value.to(float64) - rightState[name].to(float64)).abs().max().item<double>();
            Assert.True(diff < 1e-4, $"{name}: max |Δ| = {diff}");
        }
    }
}

/// <summary>Torch's random generator is process-wide: model initialisation in a test running in parallel would draw from
/// it between a run's manual_seed and its own initialisation. The in-process resume test runs alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ResumeCollection
{
    public const string Name = "Exact resume (no parallel torch draws)";
}

/// <summary>Runs the <c>medseg</c> CLI of this build configuration as a child process (<c>dotnet medseg.dll …</c>).</summary>
internal static class MedSegCli
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);

    /// <summary>MedSeg.Cli/bin/{Configuration}/{tfm}/medseg.dll, built first when missing or older than this test's
    /// engine (a test run that rebuilt only the test project would otherwise start a stale CLI).</summary>
    public static async Task<string> LocateAsync()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (tfm, configuration) = (baseDir.Name, baseDir.Parent!.Name);
        var root = baseDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "MedSeg.Cli", "MedSeg.Cli.csproj"))) root = root.Parent;
        Assert.True(root is not null, $"no MedSeg.Cli/MedSeg.Cli.csproj above {AppContext.BaseDirectory}");
        var dll = Path.Combine(root!.FullName, "MedSeg.Cli", "bin", configuration, tfm, "medseg.dll");
        var engine = Path.Combine(AppContext.BaseDirectory, "MedSeg.Engine.dll");
        await BuildLock.WaitAsync();
        try
        {
            if (!File.Exists(dll) || File.GetLastWriteTimeUtc(Path.Combine(Path.GetDirectoryName(dll)!, "MedSeg.Engine.dll")) < File.GetLastWriteTimeUtc(engine))
            {
                var build = await RunAsync(null, ["build", Path.Combine(root.FullName, "MedSeg.Cli"), "-c", configuration, "--nologo", "-v", "q"]);
                Assert.True(build.ExitCode == 0, "dotnet build MedSeg.Cli failed:\n" + build.Output);
            }
        }
        finally
        {
            BuildLock.Release();
        }
        Assert.True(File.Exists(dll), $"{dll} was not built");
        return dll;
    }

    public static Process Start(string? dll, IEnumerable<string> args, string program = "dotnet")
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (dll is not null) info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string? dll, IEnumerable<string> args, string program = "dotnet")
    {
        using var process = Start(dll, args, program);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
