using TorchSharp;
using static TorchSharp.torch;

namespace MedSeg.Engine.Training;

/// <summary>Turns a device setting ("auto", "cpu", "cuda", "cuda:N") into a torch device, with messages a person can act on.</summary>
public static class Devices
{
    public static Device Resolve(string? spec)
    {
        var s = (spec ?? "auto").Trim().ToLowerInvariant();
        if (s is "" or "auto") return cuda.is_available() ? new Device(DeviceType.CUDA, 0) : CPU;
        if (s == "cpu") return CPU;
        if (s == "cuda" || s.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (s.Length > 4 && (!int.TryParse(s[5..], out index) || index < 0))
                throw new ArgumentException($"Device '{spec}' is not valid: write cuda:N with N a GPU number (cuda:0 is the first GPU).", nameof(spec));
            if (!cuda.is_available())
                throw new ArgumentException(
                    $"Device '{spec}' was requested but CUDA is not available here (no NVIDIA GPU or driver, or the CPU build of libtorch is installed). Use 'auto' or 'cpu'.",
                    nameof(spec));
            var count = cuda.device_count();
            if (index >= count)
                throw new ArgumentException(
                    $"Device '{spec}' does not exist: {count} CUDA device(s) are visible (cuda:0{(count > 1 ? $" to cuda:{count - 1}" : "")}).",
                    nameof(spec));
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"Unknown device '{spec}'. Use 'auto', 'cpu', 'cuda' or 'cuda:N'.", nameof(spec));
    }
}
