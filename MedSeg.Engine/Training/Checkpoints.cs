using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>What <c>checkpoints/{last,best}.json</c> hold next to the weights.</summary>
public sealed record CheckpointState(
    int Epoch,
    int BestEpoch,
    double BestValidationDice,
    int Seed,
    /// <summary>How every random draw derives from (seed, epoch, index): see <see cref="Trainer.RngScheme"/>.</summary>
    string RngScheme,
    IReadOnlyList<EpochSummary> History,
    DateTimeOffset SavedUtc,
    /// <summary>Learning rate of the saved epoch (the schedule is a function of the epoch; kept to check and show).</summary>
    double? LearningRate = null,
    /// <summary>Early stopping: best Dice it compares against, and epochs without improvement so far.</summary>
    double? EarlyStoppingBest = null,
    int EpochsWithoutImprovement = 0,
    /// <summary>Null while the run can go on; EarlyStopped once it stopped early (a resume then does nothing),
    /// TimeBudget when the last call ran out of time (a resume goes on).</summary>
    StopReason? StopReason = null);

/// <summary>
/// Checkpoint files of a run: <c>checkpoints/last.pt</c> (weights, TorchSharp module.save format), <c>last.optim.pt</c>
/// (optimizer state), <c>last.json</c> (<see cref="CheckpointState"/>); <c>best.pt</c> and <c>best.json</c> likewise.
/// A checkpoint is written as temporary files, committed by renaming its .json.tmp into place last-but-one, and
/// completed by renames; <see cref="Recover"/> finishes or discards an interrupted write, so a kill at any moment
/// leaves either the previous or the new checkpoint, never a mix.
/// </summary>
public static class Checkpoints
{
    public const string Folder = "checkpoints";

    public static string Directory(string runDirectory) => Path.Combine(runDirectory, Folder);
    public static string Weights(string runDirectory, string tag) => Path.Combine(Directory(runDirectory), $"{tag}.pt");
    public static string Optimizer(string runDirectory, string tag) => Path.Combine(Directory(runDirectory), $"{tag}.optim.pt");
    public static string State(string runDirectory, string tag) => Path.Combine(Directory(runDirectory), $"{tag}.json");

    public static void Save(string runDirectory, string tag, nn.Module model, OptimizerHelper? optimizer, CheckpointState state)
    {
        var files = new List<string> { Weights(runDirectory, tag) };
        if (optimizer is not null) files.Add(Optimizer(runDirectory, tag));
        var statePath = State(runDirectory, tag);
        System.IO.Directory.CreateDirectory(Directory(runDirectory));
        foreach (var f in files.Append(statePath)) File.Delete(f + ".tmp");

        Performance.SaveContiguous(model, files[0] + ".tmp"); // model.save's format; channels-last weights included
        if (optimizer is not null)
        {
            Performance.MakeStateContiguous(optimizer);
            optimizer.save_state_dict(files[1] + ".tmp");
        }
        // Commit point: the state's .tmp appears (atomically) only once every binary .tmp is complete.
        AtomicFile.WriteAllText(statePath + ".tmp", JsonSerializer.Serialize(state, RunManifest.Json));
        Recover(runDirectory, tag);
    }

    /// <summary>Completes a committed checkpoint write (renames the remaining .tmp files) or discards an uncommitted one.</summary>
    public static void Recover(string runDirectory, string tag)
    {
        if (!System.IO.Directory.Exists(Directory(runDirectory))) return;
        var statePath = State(runDirectory, tag);
        var binaries = new[] { Weights(runDirectory, tag), Optimizer(runDirectory, tag) };
        if (File.Exists(statePath + ".tmp"))
        {
            foreach (var f in binaries)
                if (File.Exists(f + ".tmp")) File.Move(f + ".tmp", f, overwrite: true);
            File.Move(statePath + ".tmp", statePath, overwrite: true);
        }
        else
        {
            foreach (var f in binaries) File.Delete(f + ".tmp");
        }
    }

    public static CheckpointState? ReadState(string runDirectory, string tag)
    {
        Recover(runDirectory, tag);
        return ReadCommittedState(runDirectory, tag);
    }

    /// <summary>The committed checkpoint's state as it stands, without finishing an interrupted write (which needs a writable folder).</summary>
    public static CheckpointState? ReadCommittedState(string runDirectory, string tag)
    {
        var path = State(runDirectory, tag);
        if (!File.Exists(path) || !File.Exists(Weights(runDirectory, tag))) return null;
        return JsonSerializer.Deserialize<CheckpointState>(File.ReadAllText(path), RunManifest.Json);
    }
}
