using System.Buffers.Binary;
using System.Collections;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MedSeg.Engine.Models.Weights;

/// <summary>
/// The tensors of a state-dict file, in file order where the format keeps one (safetensors) and in key order otherwise.
/// Owns its tensors: dispose it when done.
/// </summary>
public sealed class StateDict : IDisposable
{
    internal StateDict(string path, string format, string? container, IReadOnlyList<KeyValuePair<string, Tensor>> tensors)
    {
        Path = path;
        Format = format;
        Container = container;
        Tensors = tensors;
    }

    public string Path { get; }

    /// <summary><c>pytorch-zip</c> (torch.save, PyTorch ≥ 1.6) or <c>safetensors</c>.</summary>
    public string Format { get; }

    /// <summary>The key of the dictionary the tensors were found under (<c>state_dict</c>, <c>model</c>), or null
    /// when the file's top level is the state dict itself.</summary>
    public string? Container { get; }

    public IReadOnlyList<KeyValuePair<string, Tensor>> Tensors { get; }

    public void Dispose()
    {
        foreach (var (_, t) in Tensors) t.Dispose();
    }
}

/// <summary>
/// Reads PyTorch state-dict files: <c>torch.save(model.state_dict(), "x.pth")</c> (the zip format PyTorch writes by
/// default since 1.6, read with TorchSharp.PyBridge's unpickler) and <c>.safetensors</c>. The format is recognised from
/// the file's first bytes, not its extension. A checkpoint that wraps the state dict (<c>{"state_dict": ...}</c> or
/// <c>{"model": ...}</c>, as mmcv and many training scripts write) is unwrapped.
/// </summary>
public static class StateDictFile
{
    private static readonly string[] Containers = ["state_dict", "model", "module"];

    public static StateDict Read(string path) =>
        Identify(path) == "safetensors" ? ReadSafetensors(path) : ReadPyTorch(path);

    /// <summary>The file's format from its first bytes, without reading a tensor: <c>pytorch-zip</c> or <c>safetensors</c>.
    /// Throws as <see cref="Read"/> does for a file that is neither (a legacy torch.save file: <see cref="NotSupportedException"/>).</summary>
    public static string Identify(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file {path} does not exist.", path);
        var head = new byte[9];
        int read;
        using (var s = File.OpenRead(path)) read = s.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);

        if (read >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04)
            return "pytorch-zip";
        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new NotSupportedException(
                $"{path} was written by torch.save in the legacy (pre-1.6, non-zip) format, which cannot be read here. " +
                "Re-save it with a current PyTorch: python -c \"import torch; torch.save(torch.load('old.pth', map_location='cpu'), 'new.pth')\".");
        if (read == 9 && head[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(head) < (ulong)new FileInfo(path).Length)
            return "safetensors";
        throw new InvalidDataException(
            $"{path} is neither a PyTorch state dict (torch.save zip) nor a safetensors file.");
    }

    private static StateDict ReadSafetensors(string path)
    {
        var tensors = Safetensors.LoadStateDict(path);
        return new StateDict(path, "safetensors", null, [.. tensors]);
    }

    private static StateDict ReadPyTorch(string path)
    {
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream);
        }
        catch (NotImplementedException e)
        {
            // PyBridge says so when the file holds a pickled nn.Module (torch.save(model)) instead of its state dict.
            throw new NotSupportedException($"{path}: {e.Message}", e);
        }
        catch (Exception e) when (e is Razorvine.Pickle.PickleException or InvalidCastException or InvalidOperationException)
        {
            throw new InvalidDataException(
                $"{path} is a zip archive but not a torch.save state dict (a TorchScript file from torch.jit.save?): {e.Message}", e);
        }

        var (found, container) = FindTensors(table);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (DictionaryEntry e in found)
        {
            if (e.Value is Tensor t) tensors.Add(new(e.Key.ToString()!, t));
        }
        // Tensors outside the chosen dictionary (EMA copies, optimizer state, ...) are not weights: free them now.
        DisposeOthers(table, keep: found);
        tensors.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new StateDict(path, "pytorch-zip", container, tensors);
    }

    private static (Hashtable Tensors, string? Container) FindTensors(Hashtable table)
    {
        if (table.Values.OfType<Tensor>().Any()) return (table, null);
        foreach (var name in Containers)
            if (table[name] is Hashtable inner && inner.Values.OfType<Tensor>().Any()) return (inner, name);
        var keys = string.Join(", ", table.Keys.Cast<object>().Select(k => k.ToString()).Take(10));
        throw new InvalidDataException(
            $"No tensors found at the top level of the checkpoint nor under {string.Join("/", Containers)} (top-level keys: {keys}).");
    }

    private static void DisposeOthers(Hashtable table, Hashtable keep)
    {
        foreach (var v in table.Values)
        {
            if (v is Tensor t && !ReferenceEquals(table, keep)) t.Dispose();
            else if (v is Hashtable inner) DisposeOthers(inner, keep);
        }
    }
}
