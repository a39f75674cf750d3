namespace MedSeg.Engine.Inference;

/// <summary>How an image of any size reaches the model.</summary>
public enum PredictionMode
{
    /// <summary>Resize the whole image to the training size (as in training), predict, resize the probabilities back.</summary>
    Resize,

    /// <summary>Keep the native resolution and tile it with training-size windows (step = tile/2), blending the window
    /// probabilities with a Gaussian importance map (σ = tile/8), nnU-Net style. For models trained on native-resolution
    /// patches; images smaller than a tile are zero-padded (0 = the image mean after z-scoring).</summary>
    SlidingWindow,
}

/// <summary>Options of <see cref="Predictor"/>. The defaults are the fast path with no test-time augmentation.</summary>
public sealed record InferenceOptions
{
    public PredictionMode Mode { get; init; } = PredictionMode.Resize;

    /// <summary>Average the probabilities of the image and its horizontal, vertical and double flips (4 forward passes).</summary>
    public bool TestTimeAugmentation { get; init; }

    /// <summary>Keep only the largest 8-connected component of each foreground class.</summary>
    public bool LargestComponent { get; init; }

    /// <summary>Images (Resize mode) or windows (SlidingWindow mode) per forward pass.</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>BatchNorm folded into the convs, channels-last activations, in-place ops (UNeXt: <see cref="UNeXtFastPath"/>;
    /// other models: <see cref="BatchNormFolding.Fold"/> on the module). Off = the module's own eager forward.</summary>
    public bool FastPath { get; init; } = true;

    /// <summary>torch intra-op threads (process-wide in libtorch); null leaves the current setting.</summary>
    public int? Threads { get; init; }

    /// <summary>One forward pass on zeros at load time, so that the first real prediction does not pay for libtorch's setup.</summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>How <see cref="Predictor.Evaluate"/> pools surface distances into HD95 and ASSD (medpy by default).</summary>
    public Metrics.SurfaceDistanceConvention Convention { get; init; } = Metrics.SurfaceDistanceConvention.Medpy;

    public static InferenceOptions Default { get; } = new();
}
