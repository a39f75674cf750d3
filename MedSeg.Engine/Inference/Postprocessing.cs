namespace MedSeg.Engine.Inference;

/// <summary>Mask post-processing on label maps (row-major height × width bytes).</summary>
public static class Postprocessing
{
    /// <summary>
    /// For each foreground label present, keeps only its largest 8-connected component (ties: the one met first in row-major
    /// order); the other pixels of that label become background (0). Works in place and returns <paramref name="labels"/>.
    /// </summary>
    public static byte[] KeepLargestComponent(byte[] labels, int width, int height)
    {
        if (labels.Length != width * height)
            throw new ArgumentException($"The mask has {labels.Length} pixels, not {width}×{height}.", nameof(labels));
        var component = new int[labels.Length];
        var queue = new int[labels.Length];
        var sizes = new List<int> { 0 };
        var labelOf = new List<byte> { 0 };
        for (var start = 0; start < labels.Length; start++)
        {
            var label = labels[start];
            if (label == 0 || component[start] != 0) continue;
            var id = sizes.Count;
            int head = 0, tail = 0;
            queue[tail++] = start;
            component[start] = id;
            while (head < tail)
            {
                var p = queue[head++];
                int y = p / width, x = p % width;
                for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    int ny = y + dy, nx = x + dx;
                    if ((dy | dx) == 0 || ny < 0 || ny >= height || nx < 0 || nx >= width) continue;
                    var q = ny * width + nx;
                    if (labels[q] != label || component[q] != 0) continue;
                    component[q] = id;
                    queue[tail++] = q;
                }
            }
            sizes.Add(tail);
            labelOf.Add(label);
        }
        var keep = new Dictionary<byte, int>();
        for (var id = 1; id < sizes.Count; id++)
            if (!keep.TryGetValue(labelOf[id], out var best) || sizes[id] > sizes[best]) keep[labelOf[id]] = id;
        for (var i = 0; i < labels.Length; i++)
            if (labels[i] != 0 && keep[labels[i]] != component[i]) labels[i] = 0;
        return labels;
    }
}
